"""Reading the asset events Airflow recorded, by asset URI."""

from __future__ import annotations

import importlib

from airflow.sdk import DAG

SECRET, NEXT_SECRET = "whsec_current_0123456789abcdef", "whsec_next_fedcba9876543210"
"""The webhook secrets of the receiver tests' connections (``conftest.CONNECTIONS``)."""


def events_dag(dag_id: str) -> DAG:
    """A DAG of ``tests/dags/runflow_events.py``, or of ``example_dags/example_runflow_assets.py``."""
    if dag_id.startswith("example_"):
        module = importlib.import_module("example_runflow_assets")
        return next(v for v in vars(module).values() if isinstance(v, DAG) and v.dag_id == dag_id)
    dags: dict[str, DAG] = importlib.import_module("runflow_events").DAGS
    return dags[dag_id]
