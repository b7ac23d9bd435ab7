"""DAGs the scheduler runs on asset events: after each producer run, and on each verified Runflow callback.

The producer's items run ``run_seconds`` (12 by default) so that it really defers (see
``runflow_fullstack``). ``RUNFLOW_FULLSTACK_API`` is the emulator's URL, whose callbacks the
receiver records on ``runflow://<host>/batches``.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from airflow.sdk import Asset, dag, task

from airflow_provider_runflow.assets.runflow import batches_asset
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

RESULTS = Asset("runflow-fullstack-results")
CALLBACKS = batches_asset(os.environ.get("RUNFLOW_FULLSTACK_API", "http://127.0.0.1"))
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dag(schedule=None, start_date=START, catchup=False, params={"count": 3, "run_seconds": 12}, tags=["fullstack"])
def runflow_fullstack_producer() -> None:
    @task
    def build_inputs(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        count, run_seconds = int(params["count"]), float(params["run_seconds"])  # type: ignore[index]
        return [{"text": f"item {i}", "run_seconds": run_seconds} for i in range(count)]

    RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=build_inputs(), outlets=[RESULTS])


def _extras(events: Any) -> list[dict[str, Any]]:
    return [dict(event.extra) for asset_events in events.values() for event in asset_events]


@dag(schedule=[RESULTS], start_date=START, catchup=False, tags=["fullstack"])
def runflow_fullstack_consumer() -> None:
    @task
    def consume(*, triggering_asset_events: Any = None) -> list[list[str]]:
        """The batch ids of each producer run that triggered this run."""
        return [extra["batch_ids"] for extra in _extras(triggering_asset_events)]

    consume()


@dag(schedule=[CALLBACKS], start_date=START, catchup=False, tags=["fullstack"])
def runflow_fullstack_on_callbacks() -> None:
    @task
    def on_batch(*, triggering_asset_events: Any = None) -> list[str]:
        """The batch id of each callback that triggered this run."""
        return [extra["batch_id"] for extra in _extras(triggering_asset_events)]

    on_batch()


runflow_fullstack_producer()
runflow_fullstack_consumer()
runflow_fullstack_on_callbacks()
