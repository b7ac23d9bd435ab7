"""Generate images, have a person review them, and ship only what they approved (docs/review.md).

With ``review=``, once the batches finish (and the images are stored) the task asks a person,
through Airflow's human-in-the-loop: **Approve** ships every entry, each marked ``review:
"approved"`` or ``"rejected"``; **Regenerate rejected** runs the items they turned down again,
with any prompt they rewrote, and asks again (up to ``max_rounds`` times); **Reject run** fails the
task with their reason. They answer in the task's "Runflow outputs" tab (thumbnails, a Reject box
and the prompt under each), on Airflow's "Required actions" page, or through its REST API.

``airflow dags test example_runflow_review`` runs it up to the question, then waits for the answer:
give it from an api-server on the same metadata DB (docs/review.md shows how). Needs Airflow 3.3.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator, RunflowReview

OUTPUT_DIR = os.environ.get("RUNFLOW_EXAMPLE_OUTPUT_DIR", os.path.join(tempfile.gettempdir(), "runflow-example"))


@dag(
    dag_id="example_runflow_review",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["example", "runflow"],
    params={"count": 40},
)
def example_runflow_review() -> None:
    @task
    def build_prompts(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        count = int((params or {}).get("count", 40))
        return [
            {"prompt": f"a ceramic mug, product shot {i}", "width": 256, "height": 256, "client_ref": f"mug-{i}"}
            for i in range(count)
        ]

    images = RunflowBatchOperator(
        task_id="generate_images",
        model="acme/image-gen",
        inputs=build_prompts(),
        # The tab shows the stored copies as thumbnails when [runflow] ui_storage_roots covers this folder.
        media_path=f"file://{OUTPUT_DIR}/media",
        review=RunflowReview(
            max_rounds=2,  # the rejected items may be regenerated twice; a third rejection fails the task
            response_timeout=datetime.timedelta(days=1),
            on_timeout="fail",  # nothing unseen ships
        ),
    )

    @task
    def publish(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every input's entry, in input order: ship the approved ones, and say which were regenerated."""
        shipped = [
            {"index": e["index"], "client_ref": e["client_ref"], "image": e["media"][0]["path"],
             "review_round": e.get("review_round")}
            for e in entries
            if e["review"] == "approved"
        ]  # fmt: skip
        regenerated = sum(1 for e in shipped if e["review_round"])
        print(f"Shipping {len(shipped)} of {len(entries)} images ({regenerated} regenerated after review)")
        return shipped

    publish(images.output)


example_runflow_review_dag = example_runflow_review()
