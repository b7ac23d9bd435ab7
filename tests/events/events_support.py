"""Reading the asset events Airflow recorded, by asset URI."""

from __future__ import annotations

import importlib
from typing import Any

from airflow.sdk import DAG

SECRET, NEXT_SECRET = "whsec_current_0123456789abcdef", "whsec_next_fedcba9876543210"
"""The webhook secrets of the receiver tests' connections (``conftest.CONNECTIONS``)."""


def asset_events(uri: str) -> list[dict[str, Any]]:
    """Each event recorded on the asset ``uri``, oldest first: its ``extra`` and where it came from."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra, AssetEvent.source_dag_id, AssetEvent.source_run_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        )
        return [{"extra": extra, "dag_id": dag_id, "run_id": run_id} for extra, dag_id, run_id in rows]


def events_dag(dag_id: str) -> DAG:
    """A DAG of ``tests/dags/runflow_events.py``, or of ``example_dags/example_runflow_assets.py``."""
    if dag_id.startswith("example_"):
        module = importlib.import_module("example_runflow_assets")
        return next(v for v in vars(module).values() if isinstance(v, DAG) and v.dag_id == dag_id)
    dags: dict[str, DAG] = importlib.import_module("runflow_events").DAGS
    return dags[dag_id]
