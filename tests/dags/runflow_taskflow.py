"""TaskFlow DAGs of ``@task.runflow_batch`` that the decorator tests run with dag.test() against the emulator.

The decorated functions build test-model inputs from upstream XComs, their own arguments
and the context; the emulator's test model answers each ``text`` upper-cased.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

MODEL = "acme/test-model"
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
FAST: dict[str, Any] = {"poll_interval": 0.1}
MODES = {"deferred": True, "blocking": False}
PRODUCTS = ["kettle", "lamp", "chair"]

DAGS: dict[str, DAG] = {}


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
    DAGS[dag_id] = dag
    return dag


@task
def load_products() -> list[str]:
    return PRODUCTS


@task
def headline(entry: dict[str, Any]) -> str:
    """One mapped task per entry: what the model answered for that input."""
    return f"{entry['client_ref']}: {entry['output']['text']}"


# The style reaches the model as written: what the function returns is never rendered with Jinja.
for mode, deferrable in MODES.items():
    with _dag(f"rf_taskflow_{mode}", params={"style": "{{ poster }}"}):

        @task.runflow_batch(model=MODEL, deferrable=deferrable, chunk_size=2, **FAST)
        def posters(products: list[str], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            style = (params or {})["style"]
            return [{"text": f"{style} of {name}", "client_ref": name, "run_seconds": 0.02} for name in products]

        headline.expand(entry=posters(load_products()))

with _dag("rf_taskflow_mapped"):

    @task.runflow_batch(model=MODEL, chunk_size=2, **FAST)
    def captions(names: list[str], style: str) -> list[dict[str, Any]]:
        return [{"text": f"{style} {name}", "client_ref": name, "run_seconds": 0.02} for name in names]

    @task
    def joined(entries: list[dict[str, Any]]) -> str:
        """One mapped task per mapped batch task: its entries, in input order."""
        return " | ".join(entry["output"]["text"] for entry in entries)

    joined.expand(entries=captions.partial(style="ink").expand(names=[["a", "b", "c"], ["d"]]))

# The first attempt of "lamp" and "chair" fails: round 1 re-runs them, from inputs the resumed task rebuilds.
with _dag("rf_taskflow_retry_rounds"):

    @task.runflow_batch(model=MODEL, retry_failed_items=1, **FAST)
    def flaky(products: list[str]) -> list[dict[str, Any]]:
        return [
            {"text": name, "client_ref": name, "run_seconds": 0.02, **({"fail_attempts": 1} if i else {})}
            for i, name in enumerate(products)
        ]

    flaky(load_products())

with _dag("rf_taskflow_bad_return"):

    @task.runflow_batch(model=MODEL, retries=2, **FAST)
    def forgot_a_field(products: list[str]) -> list[Any]:
        return [{"text": products[0]}, products[1], {"text": products[2], "client_ref": 7}]

    forgot_a_field(load_products())
