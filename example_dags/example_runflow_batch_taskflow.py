"""``example_runflow_batch`` written with TaskFlow: ``@task.runflow_batch`` in place of the operator.

The decorated function builds the prompts on the worker; the decorator's arguments are
``RunflowBatchOperator``'s. Calling the function gives the entries, one per prompt, in order,
which a mapped task consumes with ``.expand()``. Uses the ``runflow_default`` connection. Set the
Variable ``runflow_media_path`` (e.g. ``file:///tmp/runflow-media`` or ``s3://bucket/media``) to keep
a copy of every image there (docs/media.md); unset, the images stay at Runflow's expiring URLs.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task


@dag(
    dag_id="example_runflow_batch_taskflow",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["example", "runflow"],
    params={"count": 120},
)
def example_runflow_batch_taskflow() -> None:
    @task.runflow_batch(
        model="acme/image-gen",
        metadata={"dag": "example_runflow_batch_taskflow"},
        media_path="{{ var.value.get('runflow_media_path', '') }}",
        poll_interval=5,
    )
    def generate_images(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        count = int((params or {}).get("count", 120))
        styles = ["watercolor", "pixel art", "charcoal", "isometric"]
        return [
            {"prompt": f"a lighthouse at dusk, {styles[i % len(styles)]}", "seed": i, "client_ref": f"lighthouse-{i}"}
            for i in range(count)
        ]

    @task
    def publish(entry: dict[str, Any]) -> str:
        """One mapped task per generated image: its stored copy when media are kept, else Runflow's URL."""
        stored = [record["path"] for record in entry.get("media") or [] if record.get("path")]
        return f"{entry['client_ref']}: {stored[0] if stored else entry['output']['image_url']}"

    @task(multiple_outputs=True)
    def report(published: list[str], ti: Any = None) -> dict[str, Any]:
        summary = ti.xcom_pull(task_ids="generate_images", key="summary")
        print(f"Published {len(published)} images; Runflow summary: {summary}")
        return {"published": len(list(published)), **summary}

    report(publish.expand(entry=generate_images()))


example_runflow_batch_taskflow_dag = example_runflow_batch_taskflow()
