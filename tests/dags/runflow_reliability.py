"""DAGs of the reliability suite (``tests/reliability``), run with dag.test() against the emulator.

Registered in their own ``DAGS`` dict; ``tests/reliability/reliability_support.py`` looks them up.
Item run times are tiny and polls frequent, so a run costs little more than Airflow's own overhead.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, chain

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

MODEL = "acme/test-model"
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
FAST = {"poll_interval": 0.1}
FAULT_MATRIX_ITEMS = 250
REVOKED_CONN_ID = "runflow_revoked"


def texts(n: int, fail: frozenset[int] = frozenset(), run_seconds: float = 0.02) -> list[dict[str, Any]]:
    """``n`` test-model inputs; those at indexes in ``fail`` are told to fail."""
    return [
        {"text": f"item-{i}", "client_ref": f"ref-{i}", "fail": i in fail, "run_seconds": run_seconds} for i in range(n)
    ]


DAGS: dict[str, DAG] = {}


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-reliability"], **kwargs)
    DAGS[dag_id] = dag
    return dag


# The same 250 inputs through both modes, one after the other, so one dag.test() covers both.
with _dag("reliability_fault_matrix"):
    chain(
        RunflowBatchOperator(
            task_id="deferred", model=MODEL, inputs=texts(FAULT_MATRIX_ITEMS), deferrable=True, retries=0, **FAST
        ),
        RunflowBatchOperator(
            task_id="blocking", model=MODEL, inputs=texts(FAULT_MATRIX_ITEMS), deferrable=False, retries=0, **FAST
        ),
    )

# Every error path at once, for the secret scan: faults are injected by the test, items fail
# beyond the policy in both modes, and one task uses a revoked key (401).
with _dag("reliability_secrets"):
    for deferrable in (True, False):
        mode = "deferred" if deferrable else "blocking"
        RunflowBatchOperator(
            task_id=f"items_fail_{mode}",
            model=MODEL,
            inputs=texts(120, fail=frozenset({5, 105})),
            deferrable=deferrable,
            metadata={"purpose": "secret scan"},
            **FAST,
        )
        RunflowBatchOperator(
            task_id=f"tolerated_{mode}",
            model=MODEL,
            inputs=texts(10, fail=frozenset({1})),
            deferrable=deferrable,
            max_failed_items=None,
            **FAST,
        )
        RunflowBatchOperator(
            task_id=f"revoked_key_{mode}",
            model=MODEL,
            inputs=texts(3),
            deferrable=deferrable,
            runflow_conn_id=REVOKED_CONN_ID,
            **FAST,
        )
