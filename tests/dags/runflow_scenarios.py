"""DAGs the operator tests run with dag.test() against the emulator (connection ``runflow_default``).

Item run times come from each input's ``run_seconds`` (the emulator's test model),
so every scenario is fast and deterministic.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from airflow_provider_runflow.sensors.batch import RunflowBatchSensor

MODEL = "acme/test-model"
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
FAST = {"poll_interval": 0.2}


def texts(n: int, fail: set[int] = frozenset(), run_seconds: float = 0.05) -> list[dict[str, Any]]:
    """``n`` test-model inputs; those at indexes in ``fail`` are told to fail."""
    return [
        {"text": f"item-{i}", "client_ref": f"ref-{i}", "fail": i in fail, "run_seconds": run_seconds} for i in range(n)
    ]


DAGS: dict[str, DAG] = {}


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
    DAGS[dag_id] = dag
    return dag


with _dag("rf_single"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(1), **FAST)

for mode, deferrable in (("deferred", True), ("blocking", False)):
    with _dag(f"rf_fanout_{mode}"):

        @task
        def make_inputs() -> list[dict[str, Any]]:
            return texts(250)

        @task
        def check_entry(entry: dict[str, Any]) -> str:
            assert entry["status"] == "succeeded", entry
            assert entry["client_ref"] == f"ref-{entry['index']}", entry
            return str(entry["output"])

        run = RunflowBatchOperator(task_id="run", model=MODEL, inputs=make_inputs(), deferrable=deferrable, **FAST)
        check_entry.expand(entry=run.output)

POLICIES: dict[str, dict[str, Any]] = {
    "default": {},
    "allow_all": {"max_failed_items": None},
    "up_to_2": {"max_failed_items": 2},
    "ratio_10pct": {"max_failed_items": None, "max_failed_ratio": 0.1},
}
for name, policy in POLICIES.items():
    with _dag(f"rf_partial_{name}"):
        RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(10, fail={3, 7}), **FAST, **policy)

with _dag("rf_deadline"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(3, run_seconds=60), timeout=1.5, **FAST)

with _dag("rf_slow"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(150, run_seconds=3), **FAST)

# 1,000 inputs at 0.004 each: 4.00 in all, and budgets around it (docs/cost.md).
PRICED = [{**item, "cost": 0.004} for item in texts(1000, run_seconds=0.01)]
for name, budget in {
    "rf_budget_fail": {"max_cost": "1.00"},
    "rf_budget_continue": {"max_cost": "1.00", "on_budget": "continue"},
    "rf_budget_ample": {"max_cost": "100"},
    "rf_budget_none": {},
    "rf_budget_ask": {"max_cost": "1.00", "on_budget": "ask"},
}.items():
    with _dag(name):
        RunflowBatchOperator(task_id="run", model=MODEL, inputs=PRICED, **FAST, **budget)

with _dag("rf_two_seconds"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(3, run_seconds=2), **FAST)

with _dag("rf_retry_reattach"):
    RunflowBatchOperator(
        task_id="run",
        model=MODEL,
        inputs=texts(150, run_seconds=4),
        timeout=2,
        retries=1,
        retry_delay=datetime.timedelta(seconds=0),
        **FAST,
    )

with _dag("rf_output_path"):
    RunflowBatchOperator(
        task_id="run",
        model=MODEL,
        inputs=texts(230),
        output_path="{{ var.value.get('runflow_output_path') }}",
        **FAST,
    )

# Templates rendered as native objects: the Variable's JSON list reaches the operator as a list.
with _dag("rf_native_inputs", render_template_as_native_obj=True):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs="{{ var.json.runflow_inputs }}", **FAST)

for mode, deferrable in (("deferred", True), ("poke", False)):
    with _dag(f"rf_sensor_{mode}", render_template_as_native_obj=True):
        RunflowBatchSensor(
            task_id="wait",
            batch_ids="{{ var.json.runflow_batch_ids }}",
            poke_interval=0.2,
            poll_interval=0.2,
            deferrable=deferrable,
        )
