"""DAGs whose asset events the tests read: results kept in XCom (by the operator and by ``@task.runflow_batch``),
a run the failure policy fails, and a DAG scheduled on the callbacks the receiver records."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias, task
from runflow_scenarios import FAST, MODEL, START, texts

from airflow_provider_runflow.assets.runflow import batches_asset
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

DAGS: dict[str, DAG] = {}
IN_XCOM = Asset("rf-events-in-xcom")
TASKFLOW = Asset("rf-events-taskflow")
FAILING = Asset("rf-events-failing")
MAPPED = Asset("rf-events-mapped")


def _dag(dag_id: str, schedule: Any = None, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=schedule, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
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

with _dag("rf_events_taskflow"):  # the same run, its inputs built by a TaskFlow function

    @task.runflow_batch(
        model=MODEL, max_failed_items=1, chunk_size=2, outlets=[TASKFLOW, AssetAlias("rf-events-models")], **FAST
    )
    def run(count: int) -> list[dict[str, Any]]:
        return texts(count, fail={2})

    run(5)

with _dag("rf_events_mapped"):  # each mapped task instance describes its own batches
    RunflowBatchOperator.partial(task_id="run", model=MODEL, outlets=[MAPPED], **FAST).expand(
        inputs=[texts(2), texts(3)]
    )

with _dag("rf_events_failing"):  # the default policy fails the task
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(3, fail={0}), outlets=[FAILING], **FAST)

CALLBACK_API = "https://runflow.test"
"""The API host of the connections the callback receiver tests post for (no request reaches it)."""

with _dag("rf_events_on_callbacks", schedule=[batches_asset(CALLBACK_API)]):

    @task
    def seen(*, triggering_asset_events: Any = None) -> list[str]:
        return [event.extra["batch_id"] for events in triggering_asset_events.values() for event in events]

    seen()
