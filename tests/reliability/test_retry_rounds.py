"""Re-running failed items survives a worker killed mid-round and HTTP faults: no batch is paid twice.

The inputs are those of ``tests/dags/runflow_retries.py``: 200, of which 10 fail transiently
(4 of them twice), so ``retry_failed_items=2`` runs 2 + 1 + 1 batches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from airflow_support import scenario, states, xcom
from reliability_support import CREATE, TaskInstanceStub, connection_json

from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

pytestmark = pytest.mark.usefixtures("airflow_db", "fast_backoff")

TRANSIENT = {7: 1, 23: 2, 45: 1, 60: 1, 88: 2, 101: 1, 130: 2, 150: 1, 177: 1, 199: 2}
INPUTS = [
    {
        "text": f"crash-{i}",
        "client_ref": f"ref-{i}",
        "run_seconds": 1.0 if TRANSIENT.get(i) == 2 else 0.02,  # round 2 runs long enough to be killed in
        **({"fail_attempts": TRANSIENT[i]} if i in TRANSIENT else {}),
    }
    for i in range(200)
]
ARGS: dict[str, Any] = {"task_id": "run", "model": "acme/test-model", "retry_failed_items": 2, "deferrable": False}

WORKER = textwrap.dedent(
    """
    import json, sys
    from airflow_provider_runflow.operators.batch import RunflowBatchOperator

    class Ti:
        dag_id, task_id, run_id, map_index = "reliability", "run", "manual__rounds", -1
        def xcom_push(self, key, value):
            pass
        def xcom_pull(self, task_ids=None, key="return_value"):
            return None

    args = json.loads(sys.argv[1])
    RunflowBatchOperator(**args, poll_interval=0.2).execute({"ti": Ti()})
    """
)


def assert_all_succeeded_in_order(entries: list[dict[str, Any]], text: str) -> None:
    assert [e["index"] for e in entries] == list(range(200))
    assert all(
        e["status"] == "succeeded" and e["output"]["text"] == f"{text}-{i}".upper() for i, e in enumerate(entries)
    )
    assert [e["attempts"] for e in entries] == [1 + TRANSIENT.get(i, 0) for i in range(200)]


def test_a_worker_killed_in_round_2_is_retried_onto_round_2s_batch(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps({**ARGS, "inputs": INPUTS})],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while runflow_connection.counters()["batches_created"] < 4:  # 2 batches, then 1 per round
            assert worker.poll() is None, "the worker exited before round 2"
            assert time.monotonic() < deadline, "the worker never reached round 2"
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL

    try_2 = RunflowBatchOperator(**ARGS, inputs=INPUTS, poll_interval=0.1)
    entries = try_2.execute({"ti": TaskInstanceStub(run_id="manual__rounds")})  # type: ignore[typeddict-item]

    counters = runflow_connection.counters()
    figures(
        lost=0,
        duplicates=counters["batches_created"] - 4,
        checked="worker SIGKILLed once round 2's batch existed; try 2 replays all 4 POSTs, creates none",
    )
    assert_all_succeeded_in_order(entries, "crash")
    assert counters["batches_created"] == 4
    assert counters["requests"][CREATE] == {"201": 8}  # 4 created by the killed try, 4 replays


def faults() -> list[FaultRule]:
    """Six fault kinds on every route, together spoiling ~20% of responses."""
    kinds = [
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.DROP_CONNECTION,
        FaultKind.MALFORMED_JSON,
        FaultKind.TRUNCATED_PAGE,
        FaultKind.LOSE_RESPONSE,
    ]
    each = 1 - 0.8 ** (1 / len(kinds))
    return [FaultRule(route="*", kind=kind, probability=each) for kind in kinds]


@pytest.mark.parametrize("mode", ["deferred", "blocking"])
def test_http_faults_during_rounds_change_no_result_and_duplicate_no_batch(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, figures: Any, mode: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", connection_json(runflow_connection, max_retries=8))
    runflow_connection.set_faults(faults())
    run = scenario(f"rf_retry_transient_{mode}").test()
    runflow_connection.clear_faults()

    counters = runflow_connection.counters()
    spoilt = sum(n for by in counters["requests"].values() for s, n in by.items() if s not in ("200", "201"))
    figures(lost=0, duplicates=counters["batches_created"] - 4, spoilt=spoilt, checked=f"{mode}: 20% faults, 3 rounds")
    assert states(run)[("run", -1)] == "success", counters["requests"]
    assert_all_succeeded_in_order(xcom(run, "run"), mode)
    assert counters["batches_created"] == 4
    assert spoilt > 0
