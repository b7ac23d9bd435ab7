"""DAGs whose results a person reviews (``review=``), answered in the tests by a reviewer thread."""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator, RunflowReview

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
INPUTS = [{"text": f"poster {i}", "client_ref": f"sku-{i}", "run_seconds": 0.02} for i in range(10)]
DAGS: dict[str, DAG] = {}

with DAG("rf_review", schedule=None, start_date=START, catchup=False, tags=["runflow-tests"]) as dag:
    DAGS[dag.dag_id] = dag
    entries = RunflowBatchOperator(
        task_id="run",
        model="acme/test-model",
        inputs=INPUTS,
        poll_interval=0.2,
        review=RunflowReview(max_rounds=1),
    )

    @task
    def ship(items: list[dict[str, Any]]) -> list[int]:
        """What flows on: the approved items only."""
        return [item["index"] for item in items if item["review"] == "approved"]

    ship(entries.output)
