"""Airflow's API app (``create_app``) with the provider's plugin, and the connections callbacks are posted for."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from events_support import NEXT_SECRET, SECRET, events_dag

CONNECTIONS = {
    "runflow_hooks": {"callback_secrets": SECRET},
    "runflow_rotating": {"callback_secrets": f"{SECRET}, {NEXT_SECRET}"},
    "runflow_no_secrets": {},
}


@pytest.fixture(scope="package")
def callback_app(airflow_db: Path) -> Iterator[Any]:
    """The API server app, the receiver's connections, and the DAG scheduled on their callback asset."""
    from runflow_events import CALLBACK_API

    with pytest.MonkeyPatch.context() as patch:
        for conn_id, extra in CONNECTIONS.items():
            conn = {"conn_type": "runflow", "host": CALLBACK_API, "password": "rf_live_unused", "extra": extra}
            patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        patch.setenv("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
        events_dag("rf_events_on_callbacks").test()  # puts the DAG and its asset in the DB
        unpause("rf_events_on_callbacks")
        from airflow.api_fastapi.app import create_app

        yield create_app()


def unpause(dag_id: str) -> None:
    """Let the asset manager queue runs of ``dag_id`` (new DAGs start paused)."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))
