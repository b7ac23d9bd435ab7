"""Schedule a DAG on new Runflow results: a producer emits asset events, a consumer reads their ``extra``.

The producer's ``outlets`` get, on success only, an event whose ``extra`` names the batches, the
model, the items by outcome, the cost and where the results are (docs/events.md). The
``AssetAlias`` also records an event on the model's own asset, ``runflow://<host>/models/<owner>/<slug>``,
for DAGs that follow one model whoever ran it. The consumer runs once per producer run.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from typing import Any

from airflow.sdk import Asset, AssetAlias, ObjectStoragePath, dag, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

OUTPUT_DIR = os.environ.get("RUNFLOW_EXAMPLE_OUTPUT_DIR", os.path.join(tempfile.gettempdir(), "runflow-example"))
PRODUCT_SHOTS = Asset("runflow-product-shots")
"""Any asset works: named, or a URI such as ``s3://bucket/product-shots``."""
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dag(
    dag_id="example_runflow_assets_producer",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["example", "runflow"],
)
def example_runflow_assets_producer() -> None:
    RunflowBatchOperator(
        task_id="generate",
        model="acme/image-gen",
        inputs=[{"prompt": f"product shot #{i}", "client_ref": f"sku-{i}"} for i in range(6)],
        output_path=f"file://{OUTPUT_DIR}/{{{{ run_id | replace(':', '_') }}}}/product-shots.jsonl",
        outlets=[PRODUCT_SHOTS, AssetAlias("runflow-models")],
        poll_interval=5,
    )


@dag(
    dag_id="example_runflow_assets_consumer",
    schedule=[PRODUCT_SHOTS],
    start_date=START,
    catchup=False,
    tags=["example", "runflow"],
)
def example_runflow_assets_consumer() -> None:
    @task(inlets=[PRODUCT_SHOTS], multiple_outputs=False)
    def caption(*, triggering_asset_events: Any = None, inlet_events: Any = None) -> dict[str, Any]:
        """Process the results of the run that triggered this one (run by hand: of the latest run)."""
        events = list(triggering_asset_events[PRODUCT_SHOTS]) or list(inlet_events[PRODUCT_SHOTS][-1:])
        extra = events[-1].extra
        with ObjectStoragePath(extra["output_path"]).open("r") as results:
            entries = [json.loads(line) for line in results]
        succeeded = [entry for entry in entries if entry["status"] == "succeeded"]
        print(f"Captioning {len(succeeded)} new images of {extra['model']} from batches {extra['batch_ids']}")
        return {"batch_ids": extra["batch_ids"], "captioned": len(succeeded), "counts": extra["counts"]}

    caption()


example_runflow_assets_producer_dag = example_runflow_assets_producer()
example_runflow_assets_consumer_dag = example_runflow_assets_consumer()
