"""Waiting for batches: on the worker first, then (deferrable) on the triggerer; the operator's and the sensor's.

A deferrable task first waits ``[runflow] worker_wait_seconds`` on the worker: batches that end by
then finish there, without a trip through the triggerer, and a task that defers tells its trigger to
send the event no sooner than ``[runflow] min_deferral_seconds`` later (Airflow's defer race,
docs/reliability.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runflow.batching.pacing import PollInterval
from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.settings import min_deferral_seconds, worker_wait_seconds
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

DEFER_GRACE = 300.0
"""Seconds the deferral timeout waits past the trigger's own deadline: only a backstop."""


@dataclass(frozen=True)
class Wait:
    """What to wait for, and how: the batches, the deadline, and what the task needs back when it resumes."""

    batch_ids: list[str]
    deadline: float
    expected_items: list[int] | None = None
    carry: Any = None
    poll_interval: PollInterval = "adaptive"
    cancel_on_kill: bool = False

    def tracker(self) -> BatchTracker:
        return BatchTracker(self.batch_ids, self.deadline, expected_items=self.expected_items, carry=self.carry)


def wait(task: BaseOperator, hook: RunflowHook, what: Wait, *, deferrable: bool) -> BatchEvent:
    """The wait's final event, waited for here; or, deferrable and not over in time, defer (never returns)."""
    here = worker_wait_seconds() if deferrable else math.inf
    event = hook.wait(what.tracker(), what.poll_interval, time.time() + here) if here > 0 else None
    if event is not None:
        return event
    task.defer(
        trigger=RunflowBatchTrigger(
            batch_ids=what.batch_ids,
            deadline=what.deadline,
            runflow_conn_id=hook.runflow_conn_id,
            poll_interval=what.poll_interval,
            cancel_on_kill=what.cancel_on_kill,
            expected_items=what.expected_items,
            carry=what.carry,
            resume_after=time.time() + min_deferral_seconds(),
        ),
        method_name="execute_complete",
        timeout=timedelta(seconds=max(0.0, what.deadline - time.time()) + DEFER_GRACE),
    )
