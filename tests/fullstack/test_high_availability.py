"""Two triggerers and two schedulers on PostgreSQL: a triggerer dies or stalls mid-run, nothing is lost or paid twice.

``cancel_on_kill`` cancels on a user kill only: never when a trigger moves to another triggerer.
"""

from __future__ import annotations

import time

import pytest
from airflow_stack import AirflowStack
from ha_support import (
    CANCEL_DAG_ID,
    FIRST_TRIGGERER_CAPACITY,
    HA_CONFIG,
    HA_DAG_ID,
    HandoverWatch,
    batch_completions,
    cancellations,
    failed_tasks_report,
    revive_triggerers,
    trigger_log_lines,
    triggers_by_job,
)

pytestmark = pytest.mark.ha

TASKS = 200
POLL_INTERVAL = 3.0  # the DAG's poll_interval
THRESHOLD = float(HA_CONFIG["AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD"])


def test_a_killed_triggerer_hands_its_triggers_over_without_new_batches(ha_stack: AirflowStack) -> None:
    created_before = ha_stack.emulator_counters()["batches_created"]
    started = time.time()
    # The second triggerer waits until the first holds its capacity's worth, then takes every later trigger.
    first_job = ha_stack.components["triggerer"].job_id
    ha_stack.pause("triggerer2")
    try:
        # Items run 40 s: on 2 cores tasks defer at about one per second, so dozens are deferred at once.
        run_id = ha_stack.trigger_dag(HA_DAG_ID, {"count": TASKS, "run_seconds": 40})
        ha_stack.wait_for(
            lambda: len(triggers_by_job(ha_stack, HA_DAG_ID, run_id).get(first_job, ())) >= FIRST_TRIGGERER_CAPACITY,
            180,
            "the first triggerer to fill its capacity",
        )
    finally:
        ha_stack.pause("triggerer2", paused=False)
    watch = HandoverWatch(ha_stack, run_id, TASKS)

    watch.run(silence="triggerer", when_each_holds=15, kill=ha_stack.kill)

    state = ha_stack.wait_for_run(HA_DAG_ID, run_id, timeout=300)
    assert state == "success", failed_tasks_report(ha_stack, HA_DAG_ID, run_id) + ha_stack.report()
    finished = time.time()
    assert ha_stack.xcom(HA_DAG_ID, run_id, "check") == {"tasks": TASKS, "batches": TASKS}
    assert ha_stack.emulator_counters()["batches_created"] - created_before == TASKS
    # Each triggerer held a share before the kill; the survivor took the victim's over.
    assert len(watch.spread) == 2, watch.spread
    assert watch.moved, watch.spread
    assert watch.taken_over - watch.at <= THRESHOLD + POLL_INTERVAL
    # The moved triggers fired within two polls of the later of: the takeover threshold, their batches' end.
    completed = batch_completions(ha_stack, run_id)
    moved_done = max(completed[map_index] for map_index in watch.moved)
    assert watch.moved_fired <= max(watch.at + THRESHOLD, moved_done) + 2 * POLL_INTERVAL, (
        watch.moved_fired - watch.at,
        moved_done - watch.at,
    )
    print(
        f"\nHA timings: {TASKS} tasks, spread {watch.spread}, {len(watch.moved)} moved;"
        f" kill at +{watch.at - started:.1f} s; takeover after {watch.taken_over - watch.at:.1f} s;"
        f" moved triggers fired {watch.moved_fired - watch.at:.1f} s after the kill"
        f" (their last batch ended {moved_done - watch.at:.1f} s after it);"
        f" all fired +{watch.all_fired - started:.1f} s; run done +{finished - started:.1f} s"
    )


MOVED = "Not cancelling: the task is still deferred, its trigger moved to another triggerer"


def all_held(stack: AirflowStack, run_id: str, count: int) -> dict[int, set[int]] | None:
    held = triggers_by_job(stack, CANCEL_DAG_ID, run_id)
    return held if sum(map(len, held.values())) == count else None


def test_triggers_moved_off_a_stalled_triggerer_cancel_nothing(ha_stack: AirflowStack) -> None:
    """A triggerer stopped past the health threshold wakes up and drops its moved triggers: no batch is cancelled."""
    revive_triggerers(ha_stack)
    cancelled_before, created_before = cancellations(ha_stack), ha_stack.emulator_counters()["batches_created"]
    run_id = ha_stack.trigger_dag(CANCEL_DAG_ID, {"count": 6, "run_seconds": 45})
    held = ha_stack.wait_for(lambda: all_held(ha_stack, run_id, 6), 120, "six triggers to be assigned")
    job = max(held, key=lambda j: len(held[j]))
    (name,) = (c.name for c in ha_stack.components.values() if c.job_id == job)
    time.sleep(POLL_INTERVAL)  # the triggers have started and polled once

    ha_stack.pause(name)
    try:
        ha_stack.wait_for(
            lambda: not triggers_by_job(ha_stack, CANCEL_DAG_ID, run_id).get(job),
            60,
            "the other triggerer to take over",
        )
        time.sleep(POLL_INTERVAL)  # ... and to poll the moved batches
    finally:
        ha_stack.pause(name, paused=False)

    state = ha_stack.wait_for_run(CANCEL_DAG_ID, run_id, timeout=200)
    assert cancellations(ha_stack) - cancelled_before == 0
    assert state == "success", ha_stack.report()
    assert ha_stack.emulator_counters()["batches_created"] - created_before == 6
    assert ha_stack.xcom(CANCEL_DAG_ID, run_id, "check") == {"tasks": 6, "batches": 6}
    # Woken up, it cancelled the triggers it no longer held: on Airflow 3.3.0-3.3.2 that called on_kill.
    assert len(trigger_log_lines(ha_stack, CANCEL_DAG_ID, run_id, job, MOVED)) == len(held[job])


def test_a_user_kill_still_cancels_the_batch(ha_stack: AirflowStack) -> None:
    """Marking one deferred task failed cancels its batch's run, and only that one."""
    revive_triggerers(ha_stack)
    cancelled_before = cancellations(ha_stack)
    run_id = ha_stack.trigger_dag(CANCEL_DAG_ID, {"count": 2, "run_seconds": 45})
    ha_stack.wait_for(lambda: all_held(ha_stack, run_id, 2), 120, "both triggers to be assigned")
    time.sleep(POLL_INTERVAL)  # the triggers have started

    ha_stack.set_task_state(CANCEL_DAG_ID, run_id, "run", 0, "failed")

    ha_stack.wait_for(lambda: cancellations(ha_stack) > cancelled_before, 60, "the killed task's run to be cancelled")
    assert ha_stack.wait_for_run(CANCEL_DAG_ID, run_id, timeout=200) == "failed"
    assert cancellations(ha_stack) == cancelled_before + 1  # one item in the killed task's batch
    states = {
        ti["map_index"]: ti["state"]
        for ti in ha_stack.get(f"/dags/{CANCEL_DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        if ti["task_id"] == "run"
    }
    assert states == {0: "failed", 1: "success"}
