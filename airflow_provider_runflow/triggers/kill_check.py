"""Telling a user kill from a trigger that merely moved to another triggerer: Airflow 3.3.0-3.3.2 report both alike.

Those releases cancel every trigger no longer assigned to a triggerer with the user-action
message, so a triggerer that stalls past ``triggerer_health_check_threshold`` and then wakes up
calls ``on_kill`` on the triggers another triggerer has taken over (apache/airflow#73454).
A user kill (mark failed or success, clear) changes the task's state before the trigger is
cancelled; a move leaves the task deferred. The state comes from the triggerer's supervisor,
the way Airflow's own ``WorkflowTrigger`` asks for task states: no connection, no DB session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

DEFERRED = "deferred"
# Strong references: the event loop keeps only weak ones to tasks, and these outlive their caller.
_UNFINISHED: set[asyncio.Task[None]] = set()


async def task_state(ti: Any) -> str | None:
    """The task instance's current state, asked of Airflow through the triggerer's supervisor."""
    # Imported here: only a kill inside a triggerer needs the Task SDK's runtime.
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = await asyncio.to_thread(
        RuntimeTaskInstance.get_task_states,
        dag_id=ti.dag_id,
        map_index=ti.map_index,
        task_ids=[ti.task_id],
        run_ids=[ti.run_id],
    )
    key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    state: str | None = states.get(ti.run_id, {}).get(key)
    return state


async def killed_by_user(ti: Any, log: logging.Logger | Any) -> bool:
    """Whether ``on_kill`` means a user acted on the task, rather than the trigger moving elsewhere.

    Without a task instance the trigger runs outside a triggerer (called directly), where
    nothing can move it. When the state cannot be asked, nothing is cancelled: cancelling
    batches another triggerer is waiting on would fail a healthy task.
    """
    if ti is None:
        return True
    try:
        state = await task_state(ti)
    except Exception as err:  # on_kill must never raise; the batches simply keep running
        log.warning("Not cancelling: could not tell a user kill from a triggerer handover (%s)", err)
        return False
    if state == DEFERRED:
        log.info("Not cancelling: the task is still deferred, its trigger moved to another triggerer")
        return False
    return True


async def run_to_the_end(work: Coroutine[Any, Any, None], log: logging.Logger | Any) -> None:
    """Await ``work`` so that cancelling the caller does not cut it short: it runs on to its end.

    Airflow 3.3.2's triggerer sends the cancellation of a removed trigger again on every sync
    with its runner until the trigger has finished, so a second ``CancelledError`` lands in any
    ``on_kill`` that takes longer than about a second, and Airflow swallows it silently.
    """
    task = asyncio.ensure_future(work)
    _UNFINISHED.add(task)

    def done(finished: asyncio.Task[None]) -> None:
        _UNFINISHED.discard(finished)
        if not finished.cancelled() and (err := finished.exception()) is not None:
            log.warning("cancel_on_kill did not complete: %s", err)

    task.add_done_callback(done)
    await asyncio.shield(task)
