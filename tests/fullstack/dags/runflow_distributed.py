"""The distributed DAG: mapped image batches with everything at its default, media stored to S3, an event per task.

``runflow_distributed`` maps ``RunflowBatchOperator`` over ``tasks`` lists of ``images`` image
inputs. Items run as long as the emulator's default (0.2 to 0.5 s) and are polled adaptively
(the operator's default). The first image of every task fails its first attempt
(``fail_attempts``), so each task waits twice: for its batch, then for the round that re-runs
that image (``retry_failed_items=1``); on the distributed stack (``[runflow] worker_wait_seconds
= 0``) both waits are the triggerers'. Each item's image is copied to ``media_path``
(an ``s3://`` URI) and each task's success records an event of ``runflow-distributed-images``.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import Asset, dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

IMAGES = Asset("runflow-distributed-images")


@dag(
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["runflow", "fullstack", "distributed"],
    params={"tasks": 12, "images": 6, "media_path": "s3://runflow-distributed/media"},
)
def runflow_distributed() -> None:
    @task
    def build_inputs(params: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
        tasks, images = int(params["tasks"]), int(params["images"])  # type: ignore[index]
        return [
            [
                {"prompt": f"task {t} image {i}", "width": 32, "height": 24, "client_ref": f"t{t}-i{i}"}
                | ({"fail_attempts": 1} if i == 0 else {})
                for i in range(images)
            ]
            for t in range(tasks)
        ]

    RunflowBatchOperator.partial(
        task_id="run",
        model="acme/image-gen",
        media_path="{{ params.media_path }}",
        retry_failed_items=1,
        outlets=[IMAGES],
    ).expand(inputs=build_inputs())


runflow_distributed()
