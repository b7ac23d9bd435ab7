"""The spend guard's price in time: 1,000 inputs with and without ``max_cost``, side by side on one emulator.

Blocking mode (the same tracker as the trigger), a fresh emulator run per case, alternating cases so
load drifts touch both. Time to the first batch created (from the task's start) and to the result.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from benchmarks.operator_support import context, use_emulator

CASES = {"no budget": None, "max_cost large enough": "100", "max_cost for a quarter": "1.00"}


def run_budget(inputs: int = 1000, rounds: int = 3, run_seconds: float = 2.0) -> dict[str, Any]:
    """Median seconds to the first batch and to the result per case, and each against the run without a budget."""
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    with RunflowEmulator(time_scale=1.0, run_seconds=run_seconds, queue_seconds=0.1) as emu:
        use_emulator(emu)
        for round_number in range(-1, rounds):  # round -1 warms up (connection look-up, imports) unmeasured
            for name, max_cost in CASES.items():
                emu.reset()
                items = [{"text": f"{round_number} {i}", "cost": 0.004} for i in range(inputs)]
                operator = RunflowBatchOperator(
                    task_id="runflow",
                    model="acme/test-model",
                    inputs=items,
                    deferrable=False,
                    poll_interval="adaptive",
                    max_cost=max_cost,
                    on_budget="continue",
                )
                started = time.time()
                operator.execute(context())
                done = time.time()
                created = min(r["at"] for r in emu.requests_log() if r["route"].startswith("POST"))
                if round_number >= 0:
                    timings[name].append((created - started, done - started))
    base_first, base_total = (statistics.median(t[i] for t in timings["no budget"]) for i in (0, 1))
    cases = {}
    for name, runs in timings.items():
        first, total = statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs)
        cases[name] = {
            "first_batch_s": round(first, 3),
            "total_s": round(total, 2),
            "first_batch_ratio": round(first / base_first, 2),
            "total_ratio": round(total / base_total, 2),
        }
    return {"inputs": inputs, "item_seconds": run_seconds, "rounds": rounds, "cases": cases}
