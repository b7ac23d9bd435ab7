"""DAGs of failed items: named in the failure message, and re-run in rounds (``retry_failed_items``).

Registered in their own ``DAGS`` dict; the tests look them up with ``retry_dag``. Inputs of
the emulator's test model fail on purpose: ``fail`` on every attempt, ``fail_attempts=K`` on the first K.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

MODEL = "acme/test-model"
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
FAST: dict[str, Any] = {"poll_interval": 0.1}
MODES = {"deferred": True, "blocking": False}

TRANSIENT = {7: 1, 23: 2, 45: 1, 60: 1, 88: 2, 101: 1, 130: 2, 150: 1, 177: 1, 199: 2}
"""Input index -> how many first attempts fail: 10 of 200 inputs, 4 of them twice."""
PERMANENT = frozenset({3, 11, 12})


def inputs(
    n: int, transient: dict[int, int] | None = None, permanent: frozenset[int] = frozenset(), tag: str = "item"
) -> list[dict[str, Any]]:
    """``n`` test-model inputs, ``tag`` making them unlike other DAGs' (the emulator counts attempts per input)."""
    transient = transient or {}
    return [
        {
            "text": f"{tag}-{i}",
            "client_ref": f"ref-{i}",
            "run_seconds": 0.02,
            **({"fail_attempts": transient[i]} if i in transient else {}),
            **({"fail": True} if i in permanent else {}),
        }
        for i in range(n)
    ]


NAMED = inputs(30, transient=dict.fromkeys(range(1, 14, 2), 5), permanent=frozenset(range(2, 30, 2)), tag="named")
"""21 failures: 14 permanent (even indexes 2..28), 7 transient (odd indexes 1..13) that no round re-runs."""

DAGS: dict[str, DAG] = {}


def _dag(dag_id: str) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"])
    DAGS[dag_id] = dag
    return dag


for mode, deferrable in MODES.items():
    with _dag(f"rf_named_failures_{mode}"):
        RunflowBatchOperator(task_id="run", model=MODEL, inputs=NAMED, deferrable=deferrable, chunk_size=15, **FAST)

    with _dag(f"rf_retry_transient_{mode}"):
        RunflowBatchOperator(
            task_id="run",
            model=MODEL,
            inputs=inputs(200, transient=TRANSIENT, tag=mode),
            deferrable=deferrable,
            retry_failed_items=2,
            **FAST,
        )

    with _dag(f"rf_retry_permanent_{mode}"):
        RunflowBatchOperator(
            task_id="run",
            model=MODEL,
            inputs=inputs(30, transient={5: 1}, permanent=PERMANENT, tag=mode),
            deferrable=deferrable,
            retry_failed_items=2,
            **FAST,
        )
