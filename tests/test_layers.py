"""The import layers of pyproject.toml: the provider keeps them, and each contract fails when broken.

Each case copies the package, adds one forbidden import to the copy and runs ``lint-imports``
(as ``python3 scripts/dev.py lint`` does) against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_runflow"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts, on the package found in ``tree``."""
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
    return tmp_path


def test_the_provider_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("client/status.py", "import airflow", "The Runflow client imports no Airflow"),
        ("batching/policy.py", "import time", "Batch logic imports no Airflow and does no I/O"),
        ("batching/policy.py", "import httpx", "Batch logic imports no Airflow and does no I/O"),
        ("hooks/runflow.py", f"import {PACKAGE}.emulator", "Provider code never imports the emulator"),
        ("plugins/view.py", f"import {PACKAGE}.emulator", "Provider code never imports the emulator"),
        ("sensors/batch.py", f"import {PACKAGE}.operators.batch", "Layers: UI plugin, operators and sensor"),
        ("media/layout.py", f"import {PACKAGE}.operators.batch", "Layers: UI plugin, operators and sensor"),
        ("operators/batch.py", f"import {PACKAGE}.decorators.batch", "Layers: UI plugin, operators and sensor"),
        ("operators/batch.py", f"import {PACKAGE}.triggers.client_pool", "never use its internals"),
    ],
)
def test_a_forbidden_import_fails_the_lint(tree: Path, module: str, bad_import: str, contract: str) -> None:
    path = tree / PACKAGE / module
    path.write_text(path.read_text() + f"\n{bad_import}  # the import under test\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
