"""``@task.runflow_batch`` in the full stack: a round of re-runs, resumed by a task process that rebuilds the inputs.

Two of three items fail their first attempt, so the task defers twice; each resume runs in a
new task process whose copy of the task has no inputs until the function builds them again.
The texts carry the run id, as the emulator counts attempts per input across runs.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dag(schedule=None, start_date=START, catchup=False, tags=["runflow", "fullstack"], params={"run_seconds": 12})
def runflow_fullstack_taskflow() -> None:
    @task
    def products() -> list[str]:
        return ["kettle", "lamp", "chair"]

    @task.runflow_batch(model="acme/test-model", retry_failed_items=1)
    def run(names: list[str], run_id: str | None = None, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        seconds = float((params or {})["run_seconds"])
        return [
            {"text": f"{name} {run_id}", "client_ref": name, "run_seconds": seconds, "fail_attempts": 1 if i else 0}
            for i, name in enumerate(names)
        ]

    run(products())


runflow_fullstack_taskflow()
