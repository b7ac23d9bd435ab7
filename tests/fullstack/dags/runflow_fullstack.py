"""The full-stack DAG: 150 inputs (2 batches) whose items end just after the task defers, with default polling.

Like ``example_runflow_batch``, but with ``acme/test-model`` items that run ``run_seconds``
(12 by default, from the run's conf): the task waits ``[runflow] worker_wait_seconds`` (10 s)
on its worker, defers, and its trigger sees the batches end within seconds of the deferral,
the window of Airflow's defer race (apache/airflow#71580, #72716) that the provider must survive.
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
    params={"count": 150, "run_seconds": 12},
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
