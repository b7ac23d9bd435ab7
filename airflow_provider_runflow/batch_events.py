"""The one handler of a wait's final event, for the operator and the sensor, deferred or blocking.

Both turn the event into the same things in the same order: the batch link, the
results (the operator fetches items, the sensor reads batch counts), the ``summary``
XCom, the failure policy, and any failure as the exception of :mod:`.airflow_exceptions`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_runflow.airflow_exceptions import airflow_exception
from airflow_provider_runflow.batching.outcome import finished_batches, items_failed_error, summarize
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally, ordered_results
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client import ItemsQuery, RunflowClient, RunflowError, calls
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

    @property
    def reruns_failed_items(self) -> bool:
        """Whether failed items were re-run, so a batch that failed with its items is judged by them."""

    def collect(self, context: Context, states: list[BatchState]) -> tuple[Any, Tally]:
        """The task's return value (None: the summary) and the tally of the items it counted."""

    def verify(self) -> None:
        """The task's own checks once the failure policy passed (the operator's stored media)."""


class BatchWaiterMixin:
    """What the operator and the sensor share: their connection's hook and the one event handler."""

    runflow_conn_id: str
    runflow_batch_url: str | None = None

    @property
    def reruns_failed_items(self) -> bool:
        """Only the operator re-runs failed items, and only when asked to."""
        return False

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
        states = finished_batches(event, judge_items=task.reruns_failed_items)
        value, tally = task.collect(context, states)
    except RunflowError as err:
        raise _exception(task, err) from None
    submitted_at = event.get("submitted_at")
    summary = summarize(tally, states, time.time() - submitted_at if submitted_at else 0.0)
    context["ti"].xcom_push(key="summary", value=summary)
    task.log.info("Runflow summary: %s", summary)
    if violation := task.policy.violation(tally.not_succeeded, tally.total):
        error = items_failed_error(violation, tally)
        task.log.error("%s", error)
        raise _exception(task, error)
    task.verify()
    return summary if value is None else value


FAILED_ITEM_FIELDS = "id,sequence_index,client_ref,status_code,error"
"""Projection for naming failed items: no outputs, no inputs."""


def failed_entries(client: RunflowClient, states: list[BatchState]) -> Iterator[dict[str, Any]]:
    """The entries of items that did not succeed, numbered across ``states`` in order.

    Reads the items of only the batches whose counts report a failure: one request per such batch.
    """
    start = 0
    for state in states:
        total = state.expected_items or state.items_total or 0
        if (state.items_succeeded or 0) < total:
            rows = client.send(calls.batch_items(state.batch_id, ItemsQuery(fields=FAILED_ITEM_FIELDS)))
            yield from (e for e in ordered_results(state.batch_id, rows, start, total) if e["status"] != "succeeded")
        start += total


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
