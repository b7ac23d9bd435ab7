"""RunflowBatchSensor: wait for Runflow batches created elsewhere to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowItemsFailedError,
    finished_batches,
)
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.tracker import BatchState, BatchTracker
from airflow_provider_runflow.client import RunflowError
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import XCOM_BATCH_URL, RunflowBatchLink, batch_url
from airflow_provider_runflow.operators.waiting import DEFER_GRACE, to_airflow_error
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


def summary_of(states: list[BatchState]) -> dict[str, Any]:
    """Counts and cost over finished batches, from their batch-level fields."""
    return {
        "total": sum(s.items_total or 0 for s in states),
        "succeeded": sum(s.items_succeeded or 0 for s in states),
        "failed": sum(s.items_failed or 0 for s in states),
        "cancelled": sum(s.items_cancelled or 0 for s in states),
        "cost": str(sum((Decimal(s.cost) for s in states if s.cost is not None), Decimal(0))),
        "batch_ids": [s.batch_id for s in states],
        "statuses": {s.batch_id: s.status for s in states},
    }


class RunflowBatchSensor(BaseSensorOperator):
    """Wait until Runflow batches are terminal; deferrable by default. Returns the batches' summary.

    Fails like :class:`~airflow_provider_runflow.operators.batch.RunflowBatchOperator`: on a
    failed, errored or cancelled batch, and when failed items exceed the failure policy.

    :param batch_ids: one batch id or a list of them (templated).
    :param runflow_conn_id: the Runflow connection.
    :param deferrable: wait on the triggerer (default) instead of poking from a worker.
    :param max_failed_items: items that may fail before the sensor fails; ``None`` for no limit.
    :param max_failed_ratio: share of items (0..1) that may fail; ``None`` for no limit.
    """

    template_fields: Sequence[str] = ("batch_ids", "runflow_conn_id")
    operator_extra_links = (RunflowBatchLink(),)

    def __init__(
        self,
        *,
        batch_ids: str | list[str],
        runflow_conn_id: str = RunflowHook.default_conn_name,
        deferrable: bool = True,
        max_failed_items: int | None = 0,
        max_failed_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_ids = batch_ids
        self.runflow_conn_id = runflow_conn_id
        self.deferrable = deferrable
        self.policy = FailurePolicy(max_failed_items, max_failed_ratio)

    def _ids(self) -> list[str]:
        ids = [self.batch_ids] if isinstance(self.batch_ids, str) else list(self.batch_ids or [])
        if not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValueError(f"batch_ids must be a batch id or a non-empty list of them, got {self.batch_ids!r}")
        return ids

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=RunflowBatchTrigger(
                batch_ids=self._ids(),
                deadline=time.time() + float(self.timeout),
                runflow_conn_id=self.runflow_conn_id,
                poll_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + DEFER_GRACE),
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        tracker = BatchTracker(self._ids(), deadline=float("inf"))
        with RunflowHook(self.runflow_conn_id).get_conn() as client:
            for batch_id in tracker.pending():
                try:
                    tracker.observe(batch_id, client.poll_batch(batch_id))
                except RunflowError as err:
                    tracker.observe(batch_id, err)
        if (event := tracker.outcome(time.time())) is None:
            self.log.info(tracker.progress(time.time(), min_interval=0) or "Runflow batches still running")
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.execute_complete(context, dict(event)))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The one handler of both modes: the batches' summary, or the error they ended in."""
        try:
            states = finished_batches(event)
        except RunflowBatchFailedError as err:
            raise to_airflow_error(err, retry_can_help=False) from None
        except RunflowError as err:
            raise to_airflow_error(err) from None
        if url := batch_url(states[0].batch_id, states[0].links, RunflowHook(self.runflow_conn_id).dashboard_url):
            context["ti"].xcom_push(key=XCOM_BATCH_URL, value=url)
        summary = summary_of(states)
        not_succeeded = summary["total"] - summary["succeeded"]
        if violation := self.policy.violation(not_succeeded, summary["total"]):
            raise to_airflow_error(RunflowItemsFailedError(violation), retry_can_help=False)
        return summary
