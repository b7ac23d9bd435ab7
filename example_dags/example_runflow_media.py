"""Generate images with Runflow and keep them: each one copied into your object storage, then used by path.

With ``media_path``, after the batches finish the operator copies every image of every
succeeded item there (``{dag_id}/{run_id}/{task_id}/{index:05d}.png``), checksummed, and each
entry gains ``media: [{"source_url", "path", "content_type", "bytes", "sha256"}]``. Downstream
tasks read the stored copy by ``path``, long after Runflow's presigned URL has expired.
Any ObjectStoragePath URI works (``s3://bucket/media``, ``gs://``...); this example writes locally.
"""

from __future__ import annotations

import datetime
import os
import struct
import tempfile
from typing import Any

from airflow.sdk import ObjectStoragePath, dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

MEDIA_PATH = os.environ.get(
    "RUNFLOW_EXAMPLE_MEDIA_PATH", "file://" + os.path.join(tempfile.gettempdir(), "runflow-example-media")
)


@dag(
    dag_id="example_runflow_media",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["example", "runflow"],
    params={"count": 24},
)
def example_runflow_media() -> None:
    @task
    def build_prompts(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        count = int((params or {}).get("count", 24))
        return [
            {"prompt": f"a paper boat, study {i}", "width": 256, "height": 256, "client_ref": f"boat-{i}"}
            for i in range(count)
        ]

    images = RunflowBatchOperator(
        task_id="generate_images",
        model="acme/image-gen",
        inputs=build_prompts(),
        media_path=MEDIA_PATH,
        poll_interval=5,
    )

    @task
    def stored_path(entry: dict[str, Any]) -> str:
        """Only the stored copy travels on: a path in your storage, not an expiring URL."""
        return str(entry["media"][0]["path"])

    @task(multiple_outputs=True)
    def measure(path: str) -> dict[str, Any]:
        """Open the stored PNG by path and read its size from the header."""
        with ObjectStoragePath(path).open("rb") as image:
            header = image.read(24)
        width, height = struct.unpack(">II", header[16:24])
        return {"path": path, "width": width, "height": height}

    @task(multiple_outputs=True)
    def report(measured: list[dict[str, Any]]) -> dict[str, Any]:
        folder = measured[0]["path"].rsplit("/", 1)[0] if measured else MEDIA_PATH
        print(f"{len(measured)} images stored in {folder}")
        return {"images": len(measured), "folder": folder}

    report(measure.expand(path=stored_path.expand(entry=images.output)))


example_runflow_media_dag = example_runflow_media()
