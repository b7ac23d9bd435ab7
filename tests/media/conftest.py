"""Media tests: an output folder per test, named by an Airflow Variable, and a connection that sets an org id."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_support import connect

from airflow_provider_runflow.emulator import RunflowEmulator


@pytest.fixture
def media_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``runflow_media_path`` points at a fresh local folder."""
    folder = tmp_path / "media"
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_MEDIA_PATH", f"file://{folder}")
    return folder


@pytest.fixture
def media_emulator(runflow_emulator: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> RunflowEmulator:
    return connect(runflow_emulator, monkeypatch)
