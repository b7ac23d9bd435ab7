"""RunflowBatchOperator: run a Runflow model over many inputs and hand every item's output downstream."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runflow.airflow_exceptions import airflow_exception
from airflow_provider_runflow.assets.runflow import model_asset
from airflow_provider_runflow.batch_events import (
    DEFER_GRACE,
    BatchWaiterMixin,
    failed_entries,
    handle_event,
    record_batch_url,
)
from airflow_provider_runflow.batching.pacing import PollInterval, check_poll_interval
from airflow_provider_runflow.batching.plan import Chunk, SubmissionScope, fingerprint, plan_chunks
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.rounds import RERUN_STATUSES, Round
from airflow_provider_runflow.batching.tracker import BatchState, BatchTracker
from airflow_provider_runflow.client import RunflowError, RunflowInputError
from airflow_provider_runflow.client.cancellation import cancel_batches, may_cancel
from airflow_provider_runflow.client.validation import (
    parse_model_ref,
    validate_callback_url,
    validate_inputs,
    validate_metadata,
)
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import RunflowBatchLink
from airflow_provider_runflow.links.outputs import RunflowOutputsLink
from airflow_provider_runflow.media.options import MediaOptions
from airflow_provider_runflow.media.persist import check_media, open_copier, persisted
from airflow_provider_runflow.operators.asset_events import ResultsPlace, asset_extra, fill_outlet_events
from airflow_provider_runflow.operators.collection import batch_entries, rerun_entries, write_jsonl
from airflow_provider_runflow.operators.submission import create_batches, record_batches, recorded_batches
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class RunflowBatchOperator(BatchWaiterMixin, BaseOperator):
    """Run a Runflow model over a list of inputs, in batches of up to 100, and return every item's result.

    Returns one entry per input, in input order: ``{"index", "client_ref", "status", "output",
    "error", "batch_id", "run_id", "cost"}`` — ready for ``.expand()`` downstream — or, with
    ``output_path``, writes those entries as JSON Lines there and returns a small manifest.
    Also pushes XComs ``batch_ids`` and ``summary``. With ``media_path``, every media URL of every
    succeeded item is first copied there and each entry gains ``media`` (docs/media.md).

    On success, each ``outlets`` asset's event gets an ``extra`` describing the run, and each
    ``AssetAlias`` among them gets the model's ``runflow://<host>/models/<owner>/<slug>`` asset
    (docs/events.md); OpenLineage sees the batches as a run facet and the paths as outputs.

    Each batch is created with an Idempotency-Key derived from the task instance (not its try),
    the chunk and its exact body, so a retry re-attaches to the same batches instead of paying
    twice. Runflow has no public batch cancel: a killed or timed-out task leaves them running.

    :param model: ``"owner/slug"`` of a batch-capable Runflow model (the slug may contain ``/``).
    :param inputs: list of input objects (templated; an upstream ``XComArg`` works).
    :param metadata: JSON object attached to every batch.
    :param callback_url: URL Runflow POSTs each finished batch to.
    :param runflow_conn_id: the Runflow connection.
    :param deferrable: wait on the triggerer (default) instead of holding a worker slot.
    :param poll_interval: seconds between status polls, or ``"adaptive"``: paced by the batches' progress
        (soon after submission, then by their ETA; see docs/operator.md).
    :param timeout: how long to wait for all batches, counted from submission (wall clock).
    :param max_failed_items: items that may fail before the task fails; ``None`` for no limit.
    :param max_failed_ratio: share of items (0..1) that may fail; ``None`` for no limit.
    :param chunk_size: items per batch, 1..100.
    :param output_path: ObjectStoragePath URI (``file://``, ``s3://``...) to stream results to as JSON Lines.
    :param cancel_on_kill: on a user kill, cancel unfinished runs (needs a service key ``rf_svc_*``).
    :param submission_key: extra part of the Idempotency-Keys (templated); e.g. ``"{{ ti.try_number }}"``
        makes each try submit new batches instead of re-attaching.
    :param media_path: ObjectStoragePath URI (templated) to copy each succeeded item's media to, on the worker.
    :param media: how media are copied: which URLs, concurrency, size cap, retries, ``on_error``.
    :param retry_failed_items: rounds of re-running, as new batches, the items that ended failed, errored
        or cancelled, within the same ``timeout``; entries then come from each input's last attempt
        and gain ``attempts``. Each round's Idempotency-Keys include its number, so a task retry
        re-attaches to every round's batches.
    """

    template_fields: Sequence[str] = (
        "model",
        "inputs",
        "metadata",
        "callback_url",
        "runflow_conn_id",
        "output_path",
        "submission_key",
        "media_path",
    )
    template_fields_renderers = {"inputs": "json", "metadata": "json"}
    operator_extra_links = (RunflowBatchLink(), RunflowOutputsLink())
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        model: str,
        inputs: Any,
        metadata: dict[str, Any] | None = None,
        callback_url: str | None = None,
        runflow_conn_id: str = RunflowHook.default_conn_name,
        deferrable: bool = True,
        poll_interval: PollInterval = "adaptive",
        timeout: timedelta | float = timedelta(hours=24),
        max_failed_items: int | None = 0,
        max_failed_ratio: float | None = None,
        chunk_size: int = 100,
        output_path: str | None = None,
        cancel_on_kill: bool = False,
        submission_key: str | None = None,
        media_path: str | None = None,
        media: MediaOptions | None = None,
        retry_failed_items: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.inputs = inputs
        self.metadata = metadata
        self.callback_url = callback_url
        self.runflow_conn_id = runflow_conn_id
        self.deferrable = deferrable
        self.poll_interval = check_poll_interval(poll_interval)
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.policy = FailurePolicy(max_failed_items, max_failed_ratio)
        self.chunk_size = chunk_size
        self.output_path = output_path
        self.cancel_on_kill = cancel_on_kill
        self.submission_key = submission_key
        self.media_path = media_path
        self.media = media or MediaOptions()
        self._media_failed: list[str] = []
        self.retry_failed_items = retry_failed_items
        self._batch_ids: list[str] = []
        self._rounds: list[Round] = []
        if not 1 <= chunk_size <= 100 or self.timeout <= 0 or retry_failed_items < 0:
            raise ValueError("chunk_size must be 1..100, timeout positive, retry_failed_items 0 or more")

    @property
    def reruns_failed_items(self) -> bool:
        """With retry rounds, a batch that failed with its items is judged by their last attempts."""
        return self.retry_failed_items > 0

    @property
    def resubmits(self) -> bool:
        """With a ``submission_key``, a retry may create new batches rather than re-attach."""
        return bool(self.submission_key)

    is_sensor = False

    def execute(self, context: Context) -> Any:
        chunks = self._plan(context)
        submitted_at = time.time()
        submitted = Round(0, self._submit(chunks, context), [len(chunk.inputs) for chunk in chunks])
        return self._wait(context, [submitted], submitted_at)

    def _wait(self, context: Context, rounds: list[Round], submitted_at: float) -> Any:
        """Wait for the last round's batches, on the triggerer or here; ``submitted_at`` fixes the deadline."""
        tracker_args: dict[str, Any] = {
            "batch_ids": rounds[-1].batch_ids,
            "deadline": submitted_at + self.timeout,
            "expected_items": rounds[-1].expected_items,
            "submitted_at": submitted_at,
        }
        carried = [r.to_json() for r in rounds] if self.reruns_failed_items else None
        if self.deferrable:
            self.defer(
                trigger=RunflowBatchTrigger(
                    **tracker_args,
                    runflow_conn_id=self.runflow_conn_id,
                    poll_interval=self.poll_interval,
                    cancel_on_kill=self.cancel_on_kill,
                    rounds=carried,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=submitted_at + self.timeout - time.time() + DEFER_GRACE),
            )
        event: dict[str, Any] = dict(self.hook.wait(BatchTracker(**tracker_args), self.poll_interval))
        return self.execute_complete(context, event if carried is None else {**event, "rounds": carried})

    def execute_complete(self, context: Context, event: dict[str, Any], **_: Any) -> Any:
        """Start the next round of re-runs if failed items are left, else finish as the one handler does."""
        rounds = [Round.from_json(r) for r in event.get("rounds") or []]
        if not rounds or event.get("status") != "success":
            return self._finish(context, event)
        rounds[-1].batches = event["batches"]
        if (rerun := self._next_round(context, rounds, event["submitted_at"])) is not None:
            return self._wait(context, [*rounds, rerun], event["submitted_at"])
        self._rounds = rounds
        return self._finish(context, {**event, "batches": [b for r in rounds for b in r.batches]})

    def _next_round(self, context: Context, rounds: list[Round], submitted_at: float) -> Round | None:
        """The batches re-running the items the last round left failed, if rounds and time are left."""
        last = rounds[-1]
        if last.number >= self.retry_failed_items or not (failed := self._failed_inputs(last)):
            return None
        if time.time() >= submitted_at + self.timeout:
            self.log.warning("No time left to re-run %d failed items: the deadline passed", len(failed))
            return None
        inputs = validate_inputs(self.inputs)
        chunks = self._plan_chunks([inputs[i] for i in failed], context, last.number + 1)
        self.log.info(
            "round %d: re-running %d failed items in %d batch%s",
            last.number + 1,
            len(failed),
            len(chunks),
            "" if len(chunks) == 1 else "es",
        )
        batch_ids = self._submit(chunks, context, last.number + 1)
        return Round(last.number + 1, batch_ids, [len(chunk.inputs) for chunk in chunks], failed)

    def _failed_inputs(self, finished: Round) -> list[int]:
        """Input indexes of the items of a finished round that ended failed, errored or cancelled."""
        try:
            with self.hook.get_conn() as client:
                return [
                    finished.input_index(entry["index"])
                    for entry in failed_entries(client, finished.states)
                    if entry["status"] in RERUN_STATUSES
                ]
        except RunflowError as err:
            raise airflow_exception(err) from None

    def _plan(self, context: Context) -> list[Chunk]:
        """Check everything locally (no request is sent for bad input) and split it into batches.

        Bad input fails the task without retries: a retry would send the same input.
        """
        try:
            inputs = validate_inputs(self.inputs)
            validate_metadata(self.metadata)
            validate_callback_url(self.callback_url)
            parse_model_ref(self.model)
        except RunflowInputError as err:
            raise airflow_exception(err) from None
        return self._plan_chunks(inputs, context, 0)

    def _plan_chunks(self, inputs: list[dict[str, Any]], context: Context, round_number: int) -> list[Chunk]:
        """Batches of ``inputs`` for a round, with Idempotency-Keys of this task instance and round."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        scope = SubmissionScope(
            ti.dag_id,
            ti.task_id,
            ti.run_id,
            -1 if map_index is None else map_index,
            str(self.submission_key or ""),
            round_number,
        )
        return plan_chunks(
            inputs,
            model=self.model,
            scope=scope,
            chunk_size=self.chunk_size,
            metadata=self.metadata,
            callback_url=self.callback_url,
        )

    def _submit(self, chunks: list[Chunk], context: Context, round_number: int = 0) -> list[str]:
        """Create one batch per chunk, or re-attach to the batches an earlier try of this task created."""
        plan_id = fingerprint([chunk.idempotency_key for chunk in chunks])
        store = context.get("task_state_store")  # Airflow 3.3+: survives task retries
        batch_ids = recorded_batches(store, plan_id, round_number)
        if batch_ids:
            self.log.info("Re-attaching to Runflow batches of an earlier try: %s", batch_ids)
        else:
            with self.hook.get_conn() as client:
                batch_ids = create_batches(client, chunks, self.log)
            record_batches(store, plan_id, batch_ids, self.log, round_number)
        self._batch_ids = batch_ids
        if round_number == 0:
            context["ti"].xcom_push(key="batch_ids", value=batch_ids)
            record_batch_url(self, context, [{"batch_id": batch_ids[0]}])
        return batch_ids

    def collect(self, context: Context, states: list[BatchState]) -> tuple[Any, Tally]:
        """Every item's entry in input order, as a list or streamed to ``output_path``; and their tally.

        With re-runs, each entry comes from the input's last attempt and says how many it took.
        """
        tally = Tally()
        self._media_failed = []
        with self.hook.get_conn() as client, ExitStack() as stack:
            if self._rounds:
                entries = rerun_entries(client, self._rounds, tally)
                tally.rounds = [r.counts() for r in self._rounds]
            else:
                counts = [state.expected_items or state.items_total or 0 for state in states]
                entries = batch_entries(client, [state.batch_id for state in states], counts, tally)
            if self.media_path:
                copier = stack.enter_context(open_copier(str(self.media_path), context, self.media, client))
                entries = persisted(entries, copier, self._media_failed)
            if self.output_path:
                return write_jsonl(str(self.output_path), entries, [state.batch_id for state in states]), tally
            return [entry for batch in entries for entry in batch], tally

    def verify(self) -> None:
        """After the failure policy: items whose media could not be stored, by ``media.on_error``."""
        if self.media_path:
            check_media(self._media_failed, str(self.media_path), self.media)

    def _finish(self, context: Context, event: dict[str, Any]) -> Any:
        """The shared handler; once it returned (the task succeeds), the ``extra`` of the outlets' events."""
        result = handle_event(self, context, event)
        if self.outlets:
            ti = context["ti"]
            summary = _own_xcom(ti, "summary") or {}
            extra = asset_extra(summary, self.model, ResultsPlace(self.output_path, self.media_path))
            fill_outlet_events(list(self.outlets), context, extra, self._model_asset)
        return result

    def _model_asset(self) -> Any:
        return model_asset(self.hook.client_config.base_url, self.model)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """A ``runflow`` run facet (batches, model, counts, cost) and ``output_path``/``media_path`` as outputs."""
        from airflow_provider_runflow.operators.lineage import operator_lineage

        keys = ("summary", "batch_ids")
        xcoms = {key: _own_xcom(task_instance, key) for key in keys}
        return operator_lineage(self.model, xcoms, [self.output_path, self.media_path])

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same facets: what the run created and counted before it failed."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def on_kill(self) -> None:
        """Blocking mode only (a deferred task is killed through its trigger): cancel runs if asked to."""
        if self.cancel_on_kill and self._batch_ids:
            with self.hook.get_conn() as client:
                if may_cancel(client.config.api_key, self.log):
                    client.send(cancel_batches(self._batch_ids, self.log))


def _own_xcom(ti: Any, key: str) -> Any:
    """The task instance's own XCom ``key``, also when it is mapped.

    Without ``map_indexes``, Airflow 3.3's ``xcom_pull`` returns every mapped instance's value
    as a list as soon as two of them pushed one (its docstring says otherwise).
    """
    return ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=ti.map_index)
