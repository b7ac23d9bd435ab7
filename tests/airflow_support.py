"""Reading what a dag.test() run left behind: task states, XComs and its DAGs."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.sdk import DAG

EXAMPLES = Path(__file__).resolve().parent.parent / "example_dags"


def scenario(dag_id: str) -> DAG:
    """A DAG by id: of ``tests/dags/runflow_{scenarios,retries,taskflow}.py``, or of the example its id extends."""
    if dag_id.startswith("example_"):
        stem = max((path.stem for path in EXAMPLES.glob("*.py") if dag_id.startswith(path.stem)), key=len)
        module = importlib.import_module(stem)
        return next(v for v in vars(module).values() if isinstance(v, DAG) and v.dag_id == dag_id)
    dags: dict[str, DAG] = {
        **importlib.import_module("runflow_scenarios").DAGS,
        **importlib.import_module("runflow_retries").DAGS,
        **importlib.import_module("runflow_taskflow").DAGS,
    }
    return dags[dag_id]


def states(run: DagRun) -> dict[tuple[str, int], str | None]:
    """Each task instance's final state, by (task_id, map_index)."""
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def xcom(run: DagRun, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """An XCom value of ``run``, deserialized as a downstream task would see it."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=run.run_id, key=key, task_ids=task_id, dag_ids=run.dag_id, map_indexes=map_index
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


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
