"""Run by ``test_session_cleanup.py`` in a child pytest: a session that migrates the Airflow DB.

Not collected by the suite itself (its name does not start with ``test_``).
"""

from __future__ import annotations

from pathlib import Path


def test_a_session_with_a_migrated_db(airflow_db: Path) -> None:
    assert (airflow_db / "airflow.db").stat().st_size > 0
