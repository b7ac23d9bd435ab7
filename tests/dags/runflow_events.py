"""DAGs whose asset events the tests read: results kept in XCom, and a run the failure policy fails."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias
from runflow_scenarios import FAST, MODEL, START, texts

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

DAGS: dict[str, DAG] = {}
IN_XCOM = Asset("rf-events-in-xcom")
FAILING = Asset("rf-events-failing")


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
    DAGS[dag_id] = dag
    return dag


with _dag("rf_events_in_xcom"):  # one item fails, which the policy allows
    RunflowBatchOperator(
        task_id="run",
        model=MODEL,
        inputs=texts(5, fail={2}),
        max_failed_items=1,
        chunk_size=2,
        outlets=[IN_XCOM, AssetAlias("rf-events-models")],
        **FAST,
    )

with _dag("rf_events_failing"):  # the default policy fails the task
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(3, fail={0}), outlets=[FAILING], **FAST)
