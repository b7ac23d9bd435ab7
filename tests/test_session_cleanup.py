"""A test session leaves nothing behind in the temp directory: its Airflow home goes when it ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_session_deletes_its_airflow_home(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    probe = ROOT / "tests" / "airflow_home_probe.py"

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)}, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert list(temp.iterdir()) == []
