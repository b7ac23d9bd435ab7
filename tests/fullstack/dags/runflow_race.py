"""Many short Runflow tasks at once, with default polling and retry rounds: the conditions of Airflow's defer race.

Each mapped task runs ``items`` inputs of ``acme/test-model`` lasting ``run_seconds`` (fast, as
users' test models and small image batches are); every ``slow_every``-th task's items last
``slow_seconds`` instead, just past the default worker wait, so that task defers and its trigger
fires within seconds of deferring: the race's window. Each task's first input fails its first
attempt, so every task also re-runs it in a retry round. ``fail`` lists map indexes whose task
must fail (one input fails on every attempt): the test tells an asked-for failure from a lost task.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator


@dag(
    dag_id="runflow_race",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    max_active_runs=3,
    tags=["runflow", "fullstack"],
    params={"tasks": 100, "items": 5, "run_seconds": 0.5, "slow_every": 10, "slow_seconds": 12, "fail": []},
)
def runflow_race() -> None:
    @task
    def task_inputs(params: dict[str, Any] | None = None, run_id: str | None = None) -> list[list[dict[str, Any]]]:
        """One list of inputs per mapped task, unique to the run (the emulator counts attempts per input)."""
        assert params is not None
        tasks, items, fast, slow = params["tasks"], params["items"], params["run_seconds"], params["slow_seconds"]
        slow_every, failing = params["slow_every"], set(params["fail"])
        return [
            [
                {
                    "text": f"{run_id} task {t} item {i}",
                    "client_ref": f"{t}-{i}",
                    "run_seconds": slow if slow_every and t % slow_every == 0 else fast,
                    **({"fail_attempts": 1} if i == 0 else {}),
                    **({"fail": True} if i == 1 and t in failing else {}),
                }
                for i in range(items)
            ]
            for t in range(tasks)
        ]

    RunflowBatchOperator.partial(task_id="run", model="acme/test-model", retry_failed_items=2).expand(
        inputs=task_inputs()
    )


runflow_race()
