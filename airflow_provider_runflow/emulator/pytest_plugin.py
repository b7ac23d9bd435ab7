"""Pytest fixtures for the Runflow emulator, loaded only where asked for.

Opt in with ``pytest_plugins = ["airflow_provider_runflow.emulator.pytest_plugin"]`` in your
top-level ``conftest.py``, or ``pytest -p airflow_provider_runflow.emulator.pytest_plugin``. It is
not an entry point, so installing the package changes no one else's pytest runs. Cheap to import:
the emulator is imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from airflow_provider_runflow.emulator.process import RunflowEmulator


@pytest.fixture(scope="session")
def runflow_emulator_session() -> Iterator[RunflowEmulator]:
    """One emulator process for the whole session (defaults: seed 0, items run 0.2 to 0.5 s)."""
    from airflow_provider_runflow.emulator.process import RunflowEmulator

    with RunflowEmulator() as emulator:
        yield emulator


@pytest.fixture
def runflow_emulator(runflow_emulator_session: RunflowEmulator) -> RunflowEmulator:
    """The session's emulator, with batches, counters and faults reset before the test."""
    runflow_emulator_session.reset()
    return runflow_emulator_session


@pytest.fixture
def runflow_connection(runflow_emulator: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> RunflowEmulator:
    """``AIRFLOW_CONN_RUNFLOW_DEFAULT`` pointing at the emulator; returns the emulator.

    Also lets media be copied from the emulator's media origin, which is on a loopback address
    that media persistence refuses by default (``[runflow] media_allowed_networks``).
    """
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS", urlsplit(runflow_emulator.media_url).hostname or "")
    return runflow_emulator
