"""Airflow's defer race on the full stack, under the conditions users create: default settings, fast items, rounds.

Three overlapping runs of 100 mapped tasks each (``runflow_race``): most tasks' items end within the
worker wait, every tenth task's just after it defers (the race's window), and every task re-runs a
failed item in a retry round. Task 7 of each run is asked to fail (an item that fails every attempt).
Before the provider survived the race, 43 of these 300 tasks failed (docs/reliability.md).
"""

from __future__ import annotations

import pytest
from airflow_stack import AirflowStack
from defer_race import measure

pytestmark = pytest.mark.fullstack

RUNS, TASKS, ASKED_TO_FAIL = 3, 100, 7


def test_default_settings_lose_no_task_to_the_defer_race(stack: AirflowStack) -> None:
    conf = {"tasks": TASKS, "items": 5, "run_seconds": 0.5, "slow_every": 10, "slow_seconds": 12}
    figures = measure(stack, RUNS, {**conf, "fail": [ASKED_TO_FAIL]})

    print(f"\ndefer race, default settings: {figures}")
    assert figures.tasks == RUNS * TASKS
    assert figures.task_states == {"success": RUNS * (TASKS - 1), "failed": RUNS}, figures
    assert all(failed.endswith(f"[{ASKED_TO_FAIL}]") for failed in figures.failed), figures.failed
    assert figures.mismatches == 0
    # Every tenth task defers once per round: the trigger fired within seconds of deferring.
    assert figures.deferrals >= RUNS * (TASKS // 10) * 2
    # One batch per round: rounds 0 and 1 for every task, and a round 2 for the one asked to fail.
    assert figures.batches_created == RUNS * (TASKS * 2 + 1)
