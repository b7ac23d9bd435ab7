"""Send 1,000 inputs to Runflow (10 batches of 100) and stream the results to a JSON Lines file.

With ``output_path`` the operator writes one JSON line per input, in input order, page by
page (memory does not grow with the number of items), and returns a small manifest.
Any ObjectStoragePath URI works (``s3://``, ``gs://``...); this example writes locally.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

OUTPUT_DIR = os.environ.get("RUNFLOW_EXAMPLE_OUTPUT_DIR", os.path.join(tempfile.gettempdir(), "runflow-example"))


@dag(
    dag_id="example_runflow_large_batch",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["example", "runflow"],
)
def example_runflow_large_batch() -> None:
    @task
    def build_inputs() -> list[dict[str, Any]]:
        return [
            {"prompt": f"product shot #{i}", "width": 512, "height": 512, "client_ref": f"sku-{i}"} for i in range(1000)
        ]

    results = RunflowBatchOperator(
        task_id="generate",
        model="acme/image-gen",
        inputs=build_inputs(),
        chunk_size=100,
        output_path=f"file://{OUTPUT_DIR}/{{{{ run_id | replace(':', '_') }}}}/results.jsonl",
        poll_interval=5,
    )

    @task
    def check(manifest: dict[str, Any]) -> None:
        print(f"{manifest['items']} results written to {manifest['output_path']}")

    check(results.output)


example_runflow_large_batch_dag = example_runflow_large_batch()
