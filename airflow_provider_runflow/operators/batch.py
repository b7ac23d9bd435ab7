"""RunflowBatchOperator: run a Runflow model over many inputs and hand every item's output downstream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator, ObjectStoragePath

from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowItemsFailedError,
    finished_batches,
    summarize,
)
from airflow_provider_runflow.batching.plan import Chunk, SubmissionScope, fingerprint, plan_chunks
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import ITEM_FIELDS, Tally, ordered_results
from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import (
    CreateBatchRequest,
    InputProblem,
    ItemsQuery,
    RunflowBadRequestError,
    RunflowClient,
    RunflowError,
    RunflowInputError,
    RunflowNotFoundError,
    RunflowValidationError,
)
from airflow_provider_runflow.client.validation import (
    parse_model_ref,
    validate_callback_url,
    validate_inputs,
    validate_metadata,
)
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import XCOM_BATCH_URL, RunflowBatchLink, batch_url
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger
from airflow_provider_runflow.triggers.cancel import cancel_batches

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

STATE_KEY = "runflow_batches"
DEFER_GRACE = 300.0
"""Seconds the deferral timeout waits past the trigger's own deadline: only a backstop."""


def to_airflow_error(err: RunflowError, retry_can_help: bool = True) -> AirflowException:
    """The Airflow exception for a Runflow outcome; fail without retries where a retry would change nothing."""
    return AirflowException(str(err)) if retry_can_help else AirflowFailException(str(err))


def wait_blocking(client: RunflowClient, tracker: BatchTracker, poll_interval: float, log: Any) -> BatchEvent:
    """The blocking twin of :meth:`RunflowBatchTrigger.run`: same tracker, sync fetches and sleeps."""
    while True:
        for batch_id in tracker.pending():
            try:
                tracker.observe(batch_id, client.get_batch(batch_id))
            except RunflowError as err:
                tracker.observe(batch_id, err)
        now = time.time()
        if line := tracker.progress(now):
            log.info(line)
        if event := tracker.outcome(now):
            return event
        time.sleep(max(0.0, min(poll_interval, tracker.deadline - now)))


class RunflowBatchOperator(BaseOperator):
    """Run a Runflow model over a list of inputs, in batches of up to 100, and return every item's result.

    Returns one entry per input, in input order: ``{"index", "client_ref", "status", "output",
    "error", "batch_id", "run_id", "cost"}`` — ready for ``.expand()`` downstream — or, with
    ``output_path``, writes those entries as JSON Lines there and returns a small manifest.
    Also pushes XComs ``batch_ids`` and ``summary``.

    Each batch is created with an Idempotency-Key derived from the task instance (not its try),
    the chunk and its exact body, so a retry re-attaches to the same batches instead of paying
    twice. Runflow has no public batch cancel: a killed or timed-out task leaves them running.

    :param model: ``"owner/slug"`` of a batch-capable Runflow model (the slug may contain ``/``).
    :param inputs: list of input objects (templated; an upstream ``XComArg`` works).
    :param metadata: JSON object attached to every batch.
    :param callback_url: URL Runflow POSTs each finished batch to.
    :param runflow_conn_id: the Runflow connection.
    :param deferrable: wait on the triggerer (default) instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: how long to wait for all batches, counted from submission (wall clock).
    :param max_failed_items: items that may fail before the task fails; ``None`` for no limit.
    :param max_failed_ratio: share of items (0..1) that may fail; ``None`` for no limit.
    :param chunk_size: items per batch, 1..100.
    :param output_path: ObjectStoragePath URI (``file://``, ``s3://``...) to stream results to as JSON Lines.
    :param cancel_on_kill: on a user kill, cancel unfinished runs (needs a service key ``rf_svc_*``).
    :param submission_key: extra part of the Idempotency-Keys (templated); e.g. ``"{{ ti.try_number }}"``
        makes each try submit new batches instead of re-attaching.
    """

    template_fields: Sequence[str] = (
        "model",
        "inputs",
        "metadata",
        "callback_url",
        "runflow_conn_id",
        "output_path",
        "submission_key",
    )
    template_fields_renderers = {"inputs": "json", "metadata": "json"}
    operator_extra_links = (RunflowBatchLink(),)
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
        poll_interval: float = 30.0,
        timeout: timedelta | float = timedelta(hours=24),
        max_failed_items: int | None = 0,
        max_failed_ratio: float | None = None,
        chunk_size: int = 100,
        output_path: str | None = None,
        cancel_on_kill: bool = False,
        submission_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.inputs = inputs
        self.metadata = metadata
        self.callback_url = callback_url
        self.runflow_conn_id = runflow_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.policy = FailurePolicy(max_failed_items, max_failed_ratio)
        self.chunk_size = chunk_size
        self.output_path = output_path
        self.cancel_on_kill = cancel_on_kill
        self.submission_key = submission_key
        self._batch_ids: list[str] = []
        if not 1 <= chunk_size <= 100 or poll_interval <= 0 or self.timeout <= 0:
            raise ValueError("chunk_size must be 1..100, poll_interval and timeout must be positive")

    @property
    def hook(self) -> RunflowHook:
        return RunflowHook(self.runflow_conn_id)

    def execute(self, context: Context) -> Any:
        chunks = self._plan(context)
        started = time.time()
        batch_ids = self._submit(chunks, context)
        expected = [len(chunk.inputs) for chunk in chunks]
        deadline = started + self.timeout
        if self.deferrable:
            self.defer(
                trigger=RunflowBatchTrigger(
                    batch_ids=batch_ids,
                    deadline=deadline,
                    runflow_conn_id=self.runflow_conn_id,
                    poll_interval=self.poll_interval,
                    cancel_on_kill=self.cancel_on_kill,
                ),
                method_name="execute_complete",
                kwargs={"expected": expected, "started": started},
                timeout=timedelta(seconds=self.timeout + DEFER_GRACE),
            )
        with self.hook.get_conn() as client:
            event = wait_blocking(client, BatchTracker(batch_ids, deadline), self.poll_interval, self.log)
        return self.execute_complete(context, dict(event), expected=expected, started=started)

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
            raise AirflowFailException(str(err)) from None
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        scope = SubmissionScope(
            ti.dag_id, ti.task_id, ti.run_id, -1 if map_index is None else map_index, str(self.submission_key or "")
        )
        return plan_chunks(
            inputs,
            model=self.model,
            scope=scope,
            chunk_size=self.chunk_size,
            metadata=self.metadata,
            callback_url=self.callback_url,
        )

    def _submit(self, chunks: list[Chunk], context: Context) -> list[str]:
        """Create one batch per chunk, or re-attach to the batches an earlier try of this task created."""
        plan_id = fingerprint([chunk.idempotency_key for chunk in chunks])
        store = context.get("task_state_store")  # Airflow 3.3+: survives task retries
        recorded = _read_state(store)
        if recorded.get("plan") == plan_id:
            self.log.info("Re-attaching to Runflow batches of an earlier try: %s", recorded["batch_ids"])
            batch_ids: list[str] = list(recorded["batch_ids"])
        else:
            batch_ids = self._create_batches(chunks)
            _write_state(store, {"plan": plan_id, "batch_ids": batch_ids}, self.log)
        self._batch_ids = batch_ids
        context["ti"].xcom_push(key="batch_ids", value=batch_ids)
        if url := batch_url(batch_ids[0], None, self.hook.dashboard_url):
            context["ti"].xcom_push(key=XCOM_BATCH_URL, value=url)
        return batch_ids

    def _create_batches(self, chunks: list[Chunk]) -> list[str]:
        batch_ids: list[str] = []
        with self.hook.get_conn() as client:
            for chunk in chunks:
                request = CreateBatchRequest(input=chunk.inputs, metadata=self.metadata, callback_url=self.callback_url)
                try:
                    batch = client.create_batch(self.model, request, idempotency_key=chunk.idempotency_key)
                except RunflowError as err:
                    done = f" Batches created so far (a retry re-attaches to them): {batch_ids}." if batch_ids else ""
                    span = f"input[{chunk.start}] to input[{chunk.start + len(chunk.inputs) - 1}]"
                    message = f"Creating batch {chunk.index + 1} of {len(chunks)} ({span}) failed: {err}."
                    text = f"{message}{_rejected_inputs(err, chunk.start)}{done}"
                    raise to_airflow_error(RunflowError(text), retry_can_help=not _refused_for_good(err)) from None
                if not batch.id:
                    raise AirflowException(f"Runflow created batch {chunk.index + 1} but returned no batch id")
                self.log.info(
                    "Runflow batch %s: items %d-%d (%s)",
                    batch.id,
                    chunk.start,
                    chunk.start + len(chunk.inputs) - 1,
                    batch.status_code,
                )
                batch_ids.append(batch.id)
        return batch_ids

    def execute_complete(
        self, context: Context, event: dict[str, Any], expected: list[int] | None = None, started: float = 0.0
    ) -> Any:
        """Turn the final event into results: the one handler of both the deferred and the blocking mode."""
        try:
            states = finished_batches(event)
        except RunflowBatchFailedError as err:
            raise to_airflow_error(err, retry_can_help=bool(self.submission_key)) from None
        except RunflowError as err:
            raise to_airflow_error(err) from None
        batch_ids = [state.batch_id for state in states]
        if url := batch_url(batch_ids[0], states[0].links, self.hook.dashboard_url):
            context["ti"].xcom_push(key=XCOM_BATCH_URL, value=url)
        counts = expected or [state.items_total or 0 for state in states]
        tally = Tally()
        with self.hook.get_conn() as client:
            entries = _tallied(self._results(client, batch_ids, counts), tally)
            value = self._write(entries, batch_ids) if self.output_path else [e for batch in entries for e in batch]
        summary = summarize(dict(tally.statuses), tally.cost, batch_ids, time.time() - started if started else 0.0)
        context["ti"].xcom_push(key="summary", value=summary)
        self.log.info("Runflow summary: %s", summary)
        if violation := self.policy.violation(tally.not_succeeded, tally.total):
            raise to_airflow_error(RunflowItemsFailedError(violation), retry_can_help=bool(self.submission_key))
        return value

    def _results(
        self, client: RunflowClient, batch_ids: list[str], counts: list[int]
    ) -> Iterator[list[dict[str, Any]]]:
        """Each batch's entries in input order, fetched page by page (500 items, no echoed inputs)."""
        start = 0
        for batch_id, count in zip(batch_ids, counts, strict=True):
            rows = client.iter_batch_items(batch_id, ItemsQuery(fields=ITEM_FIELDS))
            try:
                yield ordered_results(batch_id, rows, start, count)
            except RunflowError as err:
                raise to_airflow_error(err) from None
            start += count

    def _write(self, entries: Iterator[list[dict[str, Any]]], batch_ids: list[str]) -> dict[str, Any]:
        """Stream entries to ``output_path`` as JSON Lines, one batch in memory at a time."""
        path = ObjectStoragePath(str(self.output_path))
        if path.protocol in ("file", "local"):
            path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with path.open("w") as out:  # type: ignore[no-untyped-call]
            for batch in entries:
                out.write("".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in batch))
                written += len(batch)
        return {"output_path": str(path), "format": "jsonl", "items": written, "batch_ids": batch_ids}

    def on_kill(self) -> None:
        """Blocking mode only (a deferred task is killed through its trigger): cancel runs if asked to."""
        if self.cancel_on_kill and self._batch_ids:
            with self.hook.get_conn() as client:
                cancel_batches(client, self._batch_ids, self.log)


def _refused_for_good(err: RunflowError) -> bool:
    """Whether Runflow refused the request itself (bad body, unknown or non-batch model): retrying cannot help."""
    return isinstance(err, (RunflowBadRequestError, RunflowNotFoundError, RunflowValidationError))


def _rejected_inputs(err: RunflowError, start: int) -> str:
    """Runflow's per-item 422 errors number items within their batch: name them as the caller's inputs."""
    if not isinstance(err, RunflowValidationError):
        return ""
    named = [
        str(InputProblem(start + entry["index"], entry.get("field"), str(entry.get("message") or "rejected")))
        for entry in err.errors
        if isinstance(entry, dict) and type(entry.get("index")) is int
    ]
    more = f" (and {len(named) - 10} more)" if len(named) > 10 else ""
    return f" Rejected inputs: {'; '.join(named[:10])}{more}." if named else ""


def _tallied(batches: Iterator[list[dict[str, Any]]], tally: Tally) -> Iterator[list[dict[str, Any]]]:
    for batch in batches:
        tally.add(batch)
        yield batch


def _read_state(store: Any) -> dict[str, Any]:
    if store is None:
        return {}
    try:
        value = store.get(STATE_KEY)
    except Exception:  # the store is optional: idempotency keys still prevent double billing
        return {}
    return value if isinstance(value, dict) else {}


def _write_state(store: Any, value: dict[str, Any], log: Any) -> None:
    if store is None:
        return
    try:
        store.set(STATE_KEY, value)
    except Exception as err:  # the store is optional: idempotency keys still prevent double billing
        log.warning("Could not record batch ids in the task state store: %s", err)
