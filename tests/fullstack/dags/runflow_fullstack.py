"""The full-stack DAG: 150 inputs (2 batches) whose items run long enough to be waited on by the triggerer.

Like ``example_runflow_batch``, but with ``acme/test-model`` items that run ``run_seconds``
(20 by default, from the run's conf) so the task really sits deferred on the triggerer: on 2
cores Airflow fails some deferred tasks whose trigger ends within seconds of deferring
(apache/airflow#71580, #72716), which is not what these tests are about.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator


@dag(
    dag_id="runflow_fullstack",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["runflow", "fullstack"],
    params={"count": 150, "run_seconds": 20},
)
def runflow_fullstack() -> None:
    @task
    def build_inputs(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        count, run_seconds = int(params["count"]), float(params["run_seconds"])  # type: ignore[index]
        return [{"text": f"item {i}", "run_seconds": run_seconds, "client_ref": f"item-{i}"} for i in range(count)]

    results = RunflowBatchOperator(
        task_id="run",
        model="acme/test-model",
        inputs=build_inputs(),
        metadata={"dag": "runflow_fullstack"},
        poll_interval=3,
    )

    @task(multiple_outputs=True)
    def check(entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Every input came back once, in order, succeeded, with the model's output."""
        indexes = [entry["index"] for entry in entries]
        if indexes != list(range(len(entries))):
            raise ValueError(f"results out of order or missing: {indexes[:10]}...")
        failed = [entry for entry in entries if entry["status"] != "succeeded"]
        if failed:
            raise ValueError(f"{len(failed)} items did not succeed, first: {failed[0]}")
        return {"items": len(entries), "batches": sorted({entry["batch_id"] for entry in entries})}

    check(results.output)


runflow_fullstack()
