"""The one handler of a wait's final event, for the operator and the sensor, deferred or blocking.

Both turn the event into the same things in the same order: the batch link, the
results (the operator fetches items, the sensor reads batch counts), the ``summary``
XCom, the failure policy, and any failure as the exception of :mod:`.airflow_exceptions`.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_runflow.airflow_exceptions import airflow_exception
from airflow_provider_runflow.batching.outcome import RunflowItemsFailedError, finished_batches, summarize
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client import RunflowError
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import XCOM_BATCH_URL, batch_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import AirflowException, Context

DEFER_GRACE = 300.0
"""Seconds the deferral timeout waits past the trigger's own deadline: only a backstop."""


class BatchWaiter(Protocol):
    """What the handler needs of the task it finishes."""

    policy: FailurePolicy
    runflow_batch_url: str | None

    @property
    def hook(self) -> RunflowHook: ...

    @property
    def log(self) -> Any: ...

    @property
    def resubmits(self) -> bool:
        """Whether a retry creates new batches, so a failed batch may come out differently."""

    @property
    def is_sensor(self) -> bool: ...

    def collect(self, context: Context, states: list[BatchState]) -> tuple[Any, Tally]:
        """The task's return value (None: the summary) and the tally of the items it counted."""

    def verify(self) -> None:
        """The task's own checks once the failure policy passed (the operator's stored media)."""


class BatchWaiterMixin:
    """What the operator and the sensor share: their connection's hook and the one event handler."""

    runflow_conn_id: str
    runflow_batch_url: str | None = None

    @cached_property
    def hook(self) -> RunflowHook:
        """One hook per task run, so the connection is looked up once, not per request."""
        return RunflowHook(self.runflow_conn_id)

    def verify(self) -> None:
        """No checks of its own by default."""

    def execute_complete(self: BatchWaiter, context: Context, event: dict[str, Any], **_: Any) -> Any:
        """Turn the final event into results: the one handler of the deferred and the blocking mode.

        Keyword arguments are ignored: only tasks deferred by version 0.1.0 pass some
        (``expected``, ``started``), which the event now carries.
        """
        return handle_event(self, context, event)


def handle_event(task: BatchWaiter, context: Context, event: dict[str, Any]) -> Any:
    """Finish a wait: the task's result, with link and ``summary`` published, or the exception it ends in."""
    record_batch_url(task, context, event.get("batches") or [])
    try:
        states = finished_batches(event)
        value, tally = task.collect(context, states)
    except RunflowError as err:
        raise _exception(task, err) from None
    submitted_at = event.get("submitted_at")
    summary = summarize(tally, states, time.time() - submitted_at if submitted_at else 0.0)
    context["ti"].xcom_push(key="summary", value=summary)
    task.log.info("Runflow summary: %s", summary)
    if violation := task.policy.violation(tally.not_succeeded, tally.total):
        raise _exception(task, RunflowItemsFailedError(violation))
    task.verify()
    return summary if value is None else value


def record_batch_url(task: BatchWaiter, context: Context, batches: list[dict[str, Any]]) -> None:
    """Publish where a person can see the first batch, once known (XCom, and the extra link at task end)."""
    if not batches:
        return
    first = batches[0]
    if url := batch_url(first["batch_id"], first.get("links"), task.hook.dashboard_url):
        task.runflow_batch_url = url
        context["ti"].xcom_push(key=XCOM_BATCH_URL, value=url)


def _exception(task: BatchWaiter, err: RunflowError) -> AirflowException:
    return airflow_exception(err, resubmits=task.resubmits, sensor=task.is_sensor)
