"""Test-wide Airflow setup: a private AIRFLOW_HOME and dags folder, and a migrated DB on demand.

The environment is set here, before anything imports Airflow, because Airflow
reads its configuration once at import time. The home is deleted when the session ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The emulator's fixtures (runflow_emulator, runflow_connection) are opt-in, as for any user; hitl_support answers
# Airflow's human-in-the-loop questions (fixture `api`).
pytest_plugins = ["airflow_provider_runflow.emulator.pytest_plugin", "hitl_support"]

ROOT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="runflow-airflow-home-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
# dag.test() only runs DAGs it can parse from the dags folder: ours are linked into one.
for source in [*(ROOT / "example_dags").glob("*.py"), *(ROOT / "tests" / "dags").glob("*.py")]:
    (_DAGS / source.name).symlink_to(source)

os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # The "deferred" scenarios must defer: their batches last a fraction of the default worker wait,
        # which tests/operators/test_deferral.py covers.
        "AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS": "0",
    }
)
os.environ.pop("AIRFLOW_CONN_RUNFLOW_DEFAULT", None)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A migrated Airflow metadata DB (SQLite) in this session's AIRFLOW_HOME, for dag.test()."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    sys.path.insert(0, str(_DAGS))
    yield _HOME
    sys.path.remove(str(_DAGS))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Delete this session's AIRFLOW_HOME (its DB, logs and config): a test run leaves nothing in the temp dir."""
    shutil.rmtree(_HOME, ignore_errors=True)
