"""Watching a run of the full-stack DAG through the REST API: states, triggers and triggerer jobs seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_stack import FULLSTACK_DAG_ID, TERMINAL_RUN_STATES, AirflowStack

RUN_TASK = "run"
TRIGGER_CLASSPATH = "airflow_provider_runflow.triggers.batch.RunflowBatchTrigger"
FIRST_PROGRESS = "Runflow: 0/2 batches finished"
LAST_PROGRESS = "Runflow: 2/2 batches finished, 150/150 items done (150 succeeded"


@dataclass
class WatchedRun:
    """What was seen of one DAG run, polled through the REST API while it ran."""

    run_id: str
    state: str = ""
    task_states: list[str] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)
    triggerer_jobs: set[int] = field(default_factory=set)
    batches_created: int = 0
    seconds: float = 0.0

    def saw(self, ti: dict[str, Any]) -> None:
        if not self.task_states or self.task_states[-1] != ti["state"]:
            self.task_states.append(ti["state"])
        if ti["state"] == "deferred" and ti.get("trigger"):
            self.triggers.add(ti["trigger"]["classpath"])
        if ti["state"] == "deferred" and ti.get("triggerer_job"):
            self.triggerer_jobs.add(ti["triggerer_job"]["id"])


def watch_run(
    stack: AirflowStack,
    conf: dict[str, Any] | None = None,
    while_deferred: Callable[[WatchedRun], None] | None = None,
    timeout: float = 150,
    dag_id: str = FULLSTACK_DAG_ID,
) -> WatchedRun:
    """Trigger the full-stack DAG, poll its ``run`` task until the run ends; call ``while_deferred`` once."""
    created_before = stack.emulator_counters()["batches_created"]
    started = time.monotonic()
    watched = WatchedRun(stack.trigger_dag(dag_id, conf))
    pending = while_deferred

    def finished() -> bool:
        nonlocal pending
        ti = stack.task_instance(dag_id, watched.run_id, RUN_TASK)
        watched.saw(ti)
        if pending is not None and ti["state"] == "deferred":
            pending, callback = None, pending
            callback(watched)
        watched.state = stack.run_state(dag_id, watched.run_id)
        return watched.state in TERMINAL_RUN_STATES

    stack.wait_for(finished, timeout, f"run {watched.run_id} of {dag_id} to finish", interval=1.0)
    watched.seconds = time.monotonic() - started
    watched.batches_created = stack.emulator_counters()["batches_created"] - created_before
    return watched
