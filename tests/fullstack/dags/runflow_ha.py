"""The high-availability DAGs: many mapped tasks, each deferred on one small batch, spread over the triggerers.

``runflow_ha`` maps ``RunflowBatchOperator`` over ``count`` one-item batches whose item runs
``run_seconds`` (from the run's conf), long enough that on 2 cores no trigger ends within
seconds of deferring (apache/airflow#71580, #72716); ``check`` pins every task's output.
``runflow_ha_cancel`` does the same with ``cancel_on_kill=True`` on a service-key connection.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator


def ha_dag(dag_id: str, conn_id: str, cancel_on_kill: bool, count: int) -> None:
    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        catchup=False,
        tags=["runflow", "fullstack", "ha"],
        params={"count": count, "run_seconds": 15},
    )
    def runflow_ha() -> None:
        @task
        def build_inputs(params: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
            count, run_seconds = int(params["count"]), float(params["run_seconds"])  # type: ignore[index]
            return [
                [{"text": f"task {i}", "run_seconds": run_seconds, "client_ref": f"task-{i}"}] for i in range(count)
            ]

        results = RunflowBatchOperator.partial(
            task_id="run",
            model="acme/test-model",
            runflow_conn_id=conn_id,
            cancel_on_kill=cancel_on_kill,
            poll_interval=3,
        ).expand(inputs=build_inputs())

        @task(multiple_outputs=True)
        def check(per_task: list[list[dict[str, Any]]]) -> dict[str, Any]:
            """Each task got its own item back, succeeded, with the model's output for that item."""
            wrong = [
                (i, entries)
                for i, entries in enumerate(per_task)
                if [(e["client_ref"], e["status"], e["output"]["text"]) for e in entries]
                != [(f"task-{i}", "succeeded", f"TASK {i}")]
            ]
            if wrong:
                raise ValueError(f"{len(wrong)} tasks returned wrong results, first: {wrong[0]}")
            return {"tasks": len(per_task), "batches": len({e["batch_id"] for entries in per_task for e in entries})}

        check(results.output)

    runflow_ha()


ha_dag("runflow_ha", "runflow_default", cancel_on_kill=False, count=200)
ha_dag("runflow_ha_cancel", "runflow_service", cancel_on_kill=True, count=6)
