"""RunflowBatchSensor: wait for Runflow batches created elsewhere to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_runflow.batching.outcome import finished_batches
from airflow_provider_runflow.batching.pacing import PollInterval, check_poll_interval
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import RunflowBatchLink, publish_batch_url
from airflow_provider_runflow.steps.entries import failed_entries
from airflow_provider_runflow.steps.finish import Collected, finish
from airflow_provider_runflow.steps.outcomes import ending_as_airflow
from airflow_provider_runflow.steps.waiting import Wait, wait

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


def _started(context: Context) -> float | None:
    """When the task instance started, so the summary's duration counts the whole wait in every mode."""
    start = getattr(context["ti"], "start_date", None)
    return None if start is None else start.timestamp()


class RunflowBatchSensor(BaseSensorOperator):
    """Wait until Runflow batches are terminal; deferrable by default. Returns the batches' summary.

    The summary is also pushed as the ``summary`` XCom, the same keys as the operator's.

    Fails like :class:`~airflow_provider_runflow.operators.batch.RunflowBatchOperator`: on a
    failed, errored or cancelled batch, and when failed items exceed the failure policy.

    :param batch_ids: one batch id or a list of them (templated).
    :param runflow_conn_id: the Runflow connection.
    :param deferrable: wait on the triggerer (default) instead of poking from a worker.
    :param poll_interval: the deferred wait's seconds between polls, or ``"adaptive"`` (paced by the
        batches' progress, as the operator's); poking from a worker keeps Airflow's ``poke_interval``.
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
        poll_interval: PollInterval = "adaptive",
        max_failed_items: int | None = 0,
        max_failed_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_ids = batch_ids
        self.runflow_conn_id = runflow_conn_id
        self.deferrable = deferrable
        self.poll_interval = check_poll_interval(poll_interval)
        self.policy = FailurePolicy(max_failed_items, max_failed_ratio)
        self.runflow_batch_url: str | None = None

    @cached_property
    def hook(self) -> RunflowHook:
        """One hook per task run, so the connection is looked up once, not per request."""
        return RunflowHook(self.runflow_conn_id)

    def _ids(self) -> list[str]:
        ids = [self.batch_ids] if isinstance(self.batch_ids, str) else list(self.batch_ids or [])
        if not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValueError(f"batch_ids must be a batch id or a non-empty list of them, got {self.batch_ids!r}")
        return ids

    def execute(self, context: Context) -> Any:
        """Deferrable: wait ``[runflow] worker_wait_seconds`` here first (batches made elsewhere are often done),
        then on the triggerer; otherwise poke as Airflow's sensors do."""
        if not self.deferrable:
            return super().execute(context)
        carry = {"started_at": _started(context)}
        what = Wait(self._ids(), time.time() + float(self.timeout), carry=carry, poll_interval=self.poll_interval)
        with ending_as_airflow(sensor=True):
            return self._finish(context, dict(wait(self, self.hook, what, deferrable=True)))

    def execute_complete(self, context: Context, event: dict[str, Any], **_: Any) -> Any:
        with ending_as_airflow(sensor=True):
            return self._finish(context, event)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        tracker = BatchTracker(self._ids(), deadline=float("inf"), carry={"started_at": _started(context)})
        with self.hook.get_conn() as client:
            event = self.hook.poll(client, tracker)
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.execute_complete(context, dict(event)))

    def _finish(self, context: Context, event: dict[str, Any]) -> Any:
        """The summary is the result, counted from the batches' own fields.

        Only the items of batches that report failures are read, to name them as the operator
        does: the sensor does not know the inputs, so an item's index counts across its batches.
        """
        if batches := event.get("batches"):
            publish_batch_url(self, context, batches[0]["batch_id"], batches[0].get("links"), self.hook.dashboard_url)
        states = finished_batches(event)
        tally = Tally.of_batches(states)
        with self.hook.get_conn() as client:
            for entry in failed_entries(client, states):
                tally.note_failed(entry)
        started_at = (event.get("carry") or {}).get("started_at")
        value, _ = finish(context, states, Collected(None, tally), self.policy, started_at, self.log)
        return value
