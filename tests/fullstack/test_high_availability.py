"""Two triggerers and two schedulers on PostgreSQL: a triggerer dies mid-run and nothing is lost or paid twice."""

from __future__ import annotations

import time

import pytest
from airflow_stack import AirflowStack
from ha_support import HA_CONFIG, HA_DAG_ID, HandoverWatch, last_batch_completion

pytestmark = pytest.mark.ha

TASKS = 200
POLL_INTERVAL = 3.0  # the DAG's poll_interval
THRESHOLD = float(HA_CONFIG["AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD"])


def test_a_killed_triggerer_hands_its_triggers_over_without_new_batches(ha_stack: AirflowStack) -> None:
    created_before = ha_stack.emulator_counters()["batches_created"]
    started = time.time()
    run_id = ha_stack.trigger_dag(HA_DAG_ID, {"count": TASKS, "run_seconds": 20})
    watch = HandoverWatch(ha_stack, run_id, TASKS)

    watch.run(silence="triggerer", when_each_holds=20, kill=ha_stack.kill)

    assert ha_stack.wait_for_run(HA_DAG_ID, run_id, timeout=300) == "success", ha_stack.report()
    finished = time.time()
    assert ha_stack.xcom(HA_DAG_ID, run_id, "check") == {"tasks": TASKS, "batches": TASKS}
    assert ha_stack.emulator_counters()["batches_created"] - created_before == TASKS
    # Each triggerer held a share before the kill; the survivor took the victim's over.
    assert len(watch.spread) == 2 and watch.moved, watch.spread
    assert watch.taken_over - watch.at <= THRESHOLD + POLL_INTERVAL
    # Every moved trigger fired within two polls of the later of: its takeover, its batch's end.
    batches_done = last_batch_completion(ha_stack)
    assert watch.moved_fired <= max(watch.at + THRESHOLD, batches_done) + 2 * POLL_INTERVAL, (
        watch.moved_fired - watch.at,
        batches_done - watch.at,
    )
    print(
        f"\nHA timings: {TASKS} tasks, spread {watch.spread}, {len(watch.moved)} moved;"
        f" kill at +{watch.at - started:.1f} s; takeover after {watch.taken_over - watch.at:.1f} s;"
        f" moved triggers fired {watch.moved_fired - watch.at:.1f} s after the kill"
        f" (last batch ended {batches_done - watch.at:.1f} s after it);"
        f" all fired +{watch.all_fired - started:.1f} s; run done +{finished - started:.1f} s"
    )
