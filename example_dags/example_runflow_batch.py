"""Generate images for a list of prompts with Runflow, then handle each result in a mapped task: two twins.

``example_runflow_batch_taskflow`` writes the Runflow task with TaskFlow: the function that
``@task.runflow_batch`` decorates returns the prompts, and calling it gives the results.
``example_runflow_batch`` writes it with ``RunflowBatchOperator``, its ``inputs`` from an
upstream task. Either sends the prompts in batches of up to 100, waits on the triggerer, and
returns one entry per prompt, in order, which the same mapped ``publish`` task consumes with
``.expand()``. Uses the ``runflow_default`` connection. Set the Variable ``runflow_media_path``
(e.g. ``file:///tmp/runflow-media`` or ``s3://bucket/media``) to keep a copy of every image
there (docs/media.md); unset, the images stay at Runflow's expiring URLs.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

MEDIA_PATH = "{{ var.value.get('runflow_media_path', '') }}"
DAG_ARGUMENTS: dict[str, Any] = {
    "start_date": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    "catchup": False,
    "tags": ["example", "runflow"],
    "params": {"count": 120},
}


def lighthouse_prompts(params: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``params["count"]`` prompts, in four styles, each with a ``client_ref`` to find its image by."""
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
    """How many images were published, beside the Runflow task's summary.

    ``len()`` asks Airflow for the count of mapped results; iterating them would read one past the
    end, which Airflow logs as an error.
    """
    summary = ti.xcom_pull(task_ids="generate_images", key="summary")
    print(f"Published {len(published)} images; Runflow summary: {summary}")
    return {"published": len(published), **summary}


@dag(dag_id="example_runflow_batch_taskflow", schedule=None, **DAG_ARGUMENTS)
def example_runflow_batch_taskflow() -> None:
    @task.runflow_batch(
        model="acme/image-gen",
        metadata={"dag": "example_runflow_batch_taskflow"},
        media_path=MEDIA_PATH,
        poll_interval=5,
    )
    def generate_images(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return lighthouse_prompts(params)

    report(publish.expand(entry=generate_images()))


@dag(dag_id="example_runflow_batch", schedule=None, **DAG_ARGUMENTS)
def example_runflow_batch() -> None:
    @task
    def build_prompts(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return lighthouse_prompts(params)

    generate_images = RunflowBatchOperator(
        task_id="generate_images",
        model="acme/image-gen",
        inputs=build_prompts(),
        metadata={"dag": "example_runflow_batch"},
        media_path=MEDIA_PATH,
        poll_interval=5,
    )
    report(publish.expand(entry=generate_images.output))


example_runflow_batch_taskflow_dag = example_runflow_batch_taskflow()
example_runflow_batch_dag = example_runflow_batch()
