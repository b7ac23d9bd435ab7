"""Reading a highly available stack's state from its PostgreSQL: who holds which trigger, which tasks defer."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from airflow_stack import AirflowStack

HA_DAG_ID = "runflow_ha"
CANCEL_DAG_ID = "runflow_ha_cancel"
CANCEL_RUN = "POST /v1/admin/runs/{run_id}/cancellation"

# Small heartbeats so a silent triggerer's triggers move within seconds (Airflow's defaults: 5 s and 30 s).
HA_CONFIG = {
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
    "AIRFLOW__CORE__PARALLELISM": "8",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "256",
    "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": "64",
    # Defer at once: these tests are about triggerers handing over deferred tasks, which a task that first
    # waits on its worker would spend deferred for less of its items' run time.
    "AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS": "0",
}
# Airflow hands each new trigger to whichever triggerer looks first, and a busy one looks more often, so one can
# take nearly all of them. The first triggerer's capacity bounds its share: the second is sure to hold the rest.
FIRST_TRIGGERER_CAPACITY = 20
HA_ARGUMENTS = {"triggerer": ("--capacity", str(FIRST_TRIGGERER_CAPACITY))}


def revive_triggerers(stack: AirflowStack) -> None:
    """Start again any triggerer an earlier test killed, so that two are running."""
    for component in list(stack.components.values()):
        if component.killed and component.name.startswith("triggerer"):
            stack.relaunch(component.name)


def sql(stack: AirflowStack, query: str, *params: Any) -> list[tuple[Any, ...]]:
    assert stack.database is not None, "this stack runs on SQLite"
    return stack.database.query(query, *params)


def triggers_by_job(stack: AirflowStack, dag_id: str, run_id: str) -> dict[int, set[int]]:
    """The map indexes of the run's deferred tasks, by the id of the triggerer job holding their trigger."""
    rows = sql(
        stack,
        "SELECT t.triggerer_id, ti.map_index FROM task_instance ti JOIN trigger t ON ti.trigger_id = t.id"
        " WHERE ti.dag_id = %s AND ti.run_id = %s AND t.triggerer_id IS NOT NULL",
        dag_id,
        run_id,
    )
    held: dict[int, set[int]] = {}
    for job_id, map_index in rows:
        held.setdefault(job_id, set()).add(map_index)
    return held


def deferred(stack: AirflowStack, dag_id: str, run_id: str) -> set[int]:
    rows = sql(
        stack,
        "SELECT map_index FROM task_instance WHERE dag_id = %s AND run_id = %s AND state = 'deferred'",
        dag_id,
        run_id,
    )
    return {map_index for (map_index,) in rows}


def cancellations(stack: AirflowStack) -> int:
    """Runs cancelled through Runflow's admin endpoint so far (the emulator counts every call)."""
    return sum(Counter(stack.emulator_counters()["requests"].get(CANCEL_RUN, {})).values())


def trigger_log_lines(stack: AirflowStack, dag_id: str, run_id: str, job_id: int, text: str) -> list[str]:
    """Lines containing ``text`` in the trigger logs that triggerer job ``job_id`` wrote for this run."""
    folder = stack.task_logs / f"dag_id={dag_id}" / f"run_id={run_id}"
    logs = folder.glob(f"**/attempt=*.log.trigger.{job_id}.log")
    return [line for log in logs for line in log.read_text(errors="replace").splitlines() if text in line]


def failed_tasks_report(stack: AirflowStack, dag_id: str, run_id: str, lines: int = 25) -> str:
    """The log tails (task and trigger) of the first failed mapped tasks of a run, for failure messages."""
    rows = sql(
        stack,
        "SELECT map_index FROM task_instance WHERE dag_id = %s AND run_id = %s AND state = 'failed' ORDER BY 1",
        dag_id,
        run_id,
    )
    parts = [f"{len(rows)} tasks failed"]
    for (map_index,) in rows[:3]:
        folder = stack.task_logs / f"dag_id={dag_id}" / f"run_id={run_id}" / "task_id=run" / f"map_index={map_index}"
        for log in sorted(folder.glob("attempt=*.log*")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"----- {log.name} of map index {map_index} -----\n" + "\n".join(tail))
    return "\n".join(parts)


def batch_completions(stack: AirflowStack, run_id: str) -> dict[int, float]:
    """When each task's batch completed (epoch seconds), by map index: its ``batch_ids`` XCom, then Runflow."""
    rows = sql(
        stack,
        "SELECT map_index, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = 'run' AND key = 'batch_ids'",
        HA_DAG_ID,
        run_id,
    )
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.emulator_url, headers=headers, timeout=30) as client:
        return {
            map_index: max(_epoch(client.get(f"/v1/batches/{batch_id}").json()["completed_at"]) for batch_id in ids)
            for map_index, ids in rows
        }


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class HandoverWatch:
    """One run of ``runflow_ha`` sampled every 0.5 s from its start; ``silence`` makes a triggerer go quiet."""

    stack: AirflowStack
    run_id: str
    count: int
    at: float = 0.0
    silent_job: int = 0
    moved: set[int] = field(default_factory=set)
    spread: dict[int, int] = field(default_factory=dict)
    taken_over: float = 0.0
    moved_fired: float = 0.0
    all_fired: float = 0.0
    ever_deferred: set[int] = field(default_factory=set)
    most_held: Counter[int] = field(default_factory=Counter)

    def run(self, silence: str, when_each_holds: int, kill: Any) -> None:
        """Until every task deferred and none still is; ``kill(silence)`` once both triggerers hold enough."""
        started = time.time()
        while not self.all_fired:
            now = time.time()
            held = triggers_by_job(self.stack, HA_DAG_ID, self.run_id)
            waiting = deferred(self.stack, HA_DAG_ID, self.run_id)
            self.ever_deferred |= waiting
            self.most_held |= Counter({job: len(tis) for job, tis in held.items()})
            if not self.at and len(held) == 2 and min(map(len, held.values())) >= when_each_holds:
                self.silent_job = self.stack.components[silence].job_id or 0
                self.spread, self.moved = {job: len(tis) for job, tis in held.items()}, held[self.silent_job]
                kill(silence)
                self.at = time.time()
            elif self.at:
                self._after_kill(now, held, waiting)
            elif len(self.ever_deferred) == self.count and not waiting:
                raise AssertionError(
                    f"all tasks ran before both triggerers held {when_each_holds} triggers;"
                    f" most held at once, by triggerer job: {dict(self.most_held)}"
                )
            if now - started > 600:
                raise AssertionError(f"not done after 600 s; deferred: {sorted(waiting)[:20]}\n{self.stack.report()}")
            time.sleep(0.5)

    def _after_kill(self, now: float, held: dict[int, set[int]], waiting: set[int]) -> None:
        if not self.taken_over and not held.get(self.silent_job):
            self.taken_over = now
        if not self.moved_fired and not waiting & self.moved:
            self.moved_fired = now
        if len(self.ever_deferred) == self.count and not waiting:
            self.all_fired = now
