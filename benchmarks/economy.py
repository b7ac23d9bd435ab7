"""Request economy: a 1,000-input operator run, requests per route against the minimum; and per retry round."""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from benchmarks.operator_support import context, use_emulator

CREATE, POLL, ITEMS = (
    "POST /v1/models/{owner}/{slug}/batches",
    "GET /v1/batches/{id}",
    "GET /v1/batches/{batch_id}/items",
)


def run_economy(inputs: int = 1000, poll_interval: float = 1.0) -> dict[str, Any]:
    """Run the operator in blocking mode (same tracker as the trigger) and count what reached the API."""
    with RunflowEmulator(time_scale=1.0, run_seconds=(0.5, 2.0), queue_seconds=0.1) as emu:
        use_emulator(emu)
        emu.reset()  # drop the emulator's own startup health checks from the counters
        operator = RunflowBatchOperator(
            task_id="runflow",
            model="acme/test-model",
            inputs=[{"text": f"input {i}", "client_ref": f"ref-{i}"} for i in range(inputs)],
            deferrable=False,
            poll_interval=poll_interval,
        )
        results = operator.execute(context())
        counts = {route: sum(by_status.values()) for route, by_status in emu.counters()["requests"].items()}
    batches = math.ceil(inputs / 100)
    pages = batches * math.ceil(100 / 500)
    polls = counts.get(POLL, 0)
    minimum = {CREATE: batches, POLL: polls, ITEMS: pages}
    excess = {route: n - minimum.get(route, 0) for route, n in counts.items() if n != minimum.get(route, 0)}
    return {
        "inputs": inputs,
        "batches": batches,
        "results": len(results),
        "poll_interval_s": poll_interval,
        "requests": counts,
        "minimum": minimum,
        "excess": excess,
        "poll_rounds": round(polls / batches, 1),
        "retries": run_retry_economy(inputs, poll_interval),
    }


def run_retry_economy(inputs: int, poll_interval: float) -> dict[str, Any]:
    """``retry_failed_items=2`` with 3% of inputs failing transiently (a third of them twice): requests per round."""
    failing = {i: 2 if n % 3 == 0 else 1 for n, i in enumerate(range(5, inputs, 33))}
    with RunflowEmulator(time_scale=1.0, run_seconds=(0.5, 2.0), queue_seconds=0.1) as emu:
        use_emulator(emu)
        emu.reset()
        operator = RunflowBatchOperator(
            task_id="runflow",
            model="acme/test-model",
            inputs=[
                {"text": f"input {i}", "client_ref": f"ref-{i}", "fail_attempts": failing.get(i, 0)}
                for i in range(inputs)
            ],
            deferrable=False,
            poll_interval=poll_interval,
            retry_failed_items=2,
        )
        ctx = context()
        results = operator.execute(ctx)
        log = emu.requests_log()
    summary = ctx["ti"].xcoms["summary"]
    round_of, start = {}, 0
    for line in summary["rounds"]:
        round_of.update({batch_id: line["round"] for batch_id in summary["batch_ids"][start : start + line["batches"]]})
        start += line["batches"]
    rounds = [{**line, "polls": 0, "item_reads": 0} for line in summary["rounds"]]
    for request in log:
        batch_id = request["path"].split("/")[3] if request["route"] in (POLL, ITEMS) else None
        if batch_id in round_of:
            rounds[round_of[batch_id]]["polls" if request["route"] == POLL else "item_reads"] += 1
    return {
        "inputs": inputs,
        "failing": len(failing),
        "results": len(results),
        "succeeded": summary["succeeded"],
        "rounds": rounds,
        "posts": sum(1 for request in log if request["route"] == CREATE),
    }
