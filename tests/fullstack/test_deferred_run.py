"""The operator as production runs it: the task defers, the triggerer process waits, a worker resumes it."""

from __future__ import annotations

import psutil
import pytest
from airflow_stack import FULLSTACK_DAG_ID, AirflowStack
from fullstack_support import FIRST_PROGRESS, LAST_PROGRESS, RUN_TASK, TRIGGER_CLASSPATH, WatchedRun, watch_run

pytestmark = pytest.mark.fullstack


def test_run_succeeds_with_one_batch_per_chunk(stack: AirflowStack, first_run: WatchedRun) -> None:
    assert first_run.state == "success", stack.report()
    assert first_run.batches_created == 2
    batch_ids = stack.xcom(FULLSTACK_DAG_ID, first_run.run_id, RUN_TASK, "batch_ids")
    assert len(batch_ids) == 2
    checked = stack.xcom(FULLSTACK_DAG_ID, first_run.run_id, "check")
    assert checked == {"items": 150, "batches": sorted(batch_ids)}


def test_the_trigger_waited_on_the_triggerer_process(stack: AirflowStack, first_run: WatchedRun) -> None:
    assert "deferred" in first_run.task_states, first_run.task_states
    assert first_run.task_states[-1] == "success"
    assert first_run.triggers == {TRIGGER_CLASSPATH}
    # Only the triggerer writes a task's trigger log, named after its own job id.
    logs = stack.trigger_logs(FULLSTACK_DAG_ID, first_run.run_id, RUN_TASK)
    assert set(logs) == first_run.triggerer_jobs, "the trigger log is not the assigned triggerer's"
    (job,) = logs
    assert {j["id"]: j["job_type"] for j in stack.triggerer_jobs()}[job] == "TriggererJob"
    assert FIRST_PROGRESS in logs[job]
    assert LAST_PROGRESS in logs[job]
    # ... and the task process looked only for the worker wait: it handed over, and a worker resumed it.
    task_log = stack.task_log(FULLSTACK_DAG_ID, first_run.run_id, RUN_TASK)
    assert FIRST_PROGRESS in task_log
    assert "Pausing task as DEFERRED" in task_log
    assert LAST_PROGRESS not in task_log
    assert "Runflow summary: " in task_log


def test_a_killed_triggerer_is_replaced_without_new_batches(stack: AirflowStack, first_run: WatchedRun) -> None:
    killed: dict[str, object] = {}

    def kill_triggerer(watched: WatchedRun) -> None:
        old = stack.wait_for(
            lambda: next((job for job, log in stack.trigger_logs(*ids(watched)).items() if FIRST_PROGRESS in log), 0),
            60,
            "the triggerer to start polling the batches",
        )
        killed["job"], killed["batch_ids"] = old, stack.xcom(*ids(watched), "batch_ids")
        pid = stack.components["triggerer"].pid
        stack.kill("triggerer")
        assert not psutil.pid_exists(pid)
        assert stack.task_instance(*ids(watched))["state"] == "deferred"
        stack.launch("triggerer")

    # Items run 45 s, so the batches are still running when the new triggerer takes over.
    watched = watch_run(stack, {"run_seconds": 45}, while_deferred=kill_triggerer, timeout=200)

    assert watched.state == "success", stack.report()
    assert watched.batches_created == 2
    assert stack.xcom(*ids(watched), "batch_ids") == killed["batch_ids"]
    logs = stack.trigger_logs(*ids(watched))
    new_jobs = set(logs) - {killed["job"]}
    assert len(new_jobs) == 1, logs.keys()
    (new_job,) = new_jobs
    assert LAST_PROGRESS in logs[new_job]
    assert LAST_PROGRESS not in logs[killed["job"]]  # type: ignore[index]
    assert stack.xcom(FULLSTACK_DAG_ID, watched.run_id, "check")["items"] == 150


def test_a_taskflow_task_is_resumed_by_new_task_processes_that_rebuild_its_inputs(stack: AirflowStack) -> None:
    dag_id = "runflow_fullstack_taskflow"
    watched = watch_run(stack, dag_id=dag_id, timeout=200)  # two deferrals of 20 s items: a round of re-runs

    assert watched.state == "success", stack.report()
    assert watched.triggers == {TRIGGER_CLASSPATH}
    entries = stack.xcom(dag_id, watched.run_id, RUN_TASK)
    assert [(e["client_ref"], e["status"], e["output"]["text"], e["attempts"]) for e in entries] == [
        (name, "succeeded", f"{name} {watched.run_id}".upper(), attempts)
        for name, attempts in (("kettle", 1), ("lamp", 2), ("chair", 2))
    ]
    assert watched.batches_created == 2
    assert "round 1: re-running 2 failed items in 1 batch" in stack.task_log(dag_id, watched.run_id, RUN_TASK)


def ids(watched: WatchedRun) -> tuple[str, str, str]:
    return FULLSTACK_DAG_ID, watched.run_id, RUN_TASK
