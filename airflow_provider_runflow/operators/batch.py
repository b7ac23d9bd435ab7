"""RunflowBatchOperator: run a Runflow model over many inputs and hand every item's output downstream."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runflow.assets.runflow import model_asset
from airflow_provider_runflow.batching.outcome import finished_batches
from airflow_provider_runflow.batching.pacing import PollInterval, check_poll_interval
from airflow_provider_runflow.batching.plan import BatchRequest, SubmissionScope, check_chunk_size, plan_chunks
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.rounds import Round, RunState
from airflow_provider_runflow.client.cancellation import cancel_batches, may_cancel
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import RunflowBatchLink, publish_batch_url
from airflow_provider_runflow.links.outputs import RunflowOutputsLink
from airflow_provider_runflow.media.copier import MediaCopier
from airflow_provider_runflow.media.options import MediaOptions
from airflow_provider_runflow.media.persist import media_error, open_copier, persisted
from airflow_provider_runflow.steps.entries import rerun_inputs, run_entries, write_jsonl
from airflow_provider_runflow.steps.finish import Collected, finish
from airflow_provider_runflow.steps.outcomes import ending_as_airflow
from airflow_provider_runflow.steps.outlets import ResultsPlace, asset_extra, fill_outlet_events
from airflow_provider_runflow.steps.submission import submit
from airflow_provider_runflow.steps.waiting import Wait, wait

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class RunflowBatchOperator(BaseOperator):
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
    :param deferrable: wait on the triggerer (default) instead of holding a worker slot; batches that end
        within ``[runflow] worker_wait_seconds`` finish on the worker without deferring.
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
        self.retry_failed_items = retry_failed_items
        self.runflow_batch_url: str | None = None
        self._created: list[str] = []
        """Batches this task process created or re-attached to: what ``on_kill`` cancels in blocking mode."""
        check_chunk_size(chunk_size)
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if retry_failed_items < 0:
            raise ValueError(f"retry_failed_items must be 0 or more, got {retry_failed_items!r}")

    @cached_property
    def hook(self) -> RunflowHook:
        """One hook per task run, so the connection is looked up once, not per request."""
        return RunflowHook(self.runflow_conn_id)

    def execute(self, context: Context) -> Any:
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            request = BatchRequest.checked(self.model, self.inputs, self.metadata, self.callback_url, self.chunk_size)
            run = RunState(time.time(), [])
            run.rounds.append(self._submit_round(context, run, request, 0))
            return self._wait(context, run)

    def execute_complete(self, context: Context, event: dict[str, Any], **_: Any) -> Any:
        """A wait is over: re-run what failed if rounds are left, else finish.

        Keyword arguments are ignored: only tasks deferred by version 0.1.0 pass some, which the event now carries.
        """
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            run = RunState.of_event(event, time.time())
            finished_batches(event, judge_items=self.retry_failed_items > 0)
            run.last.batches = list(event["batches"])
            if (rerun := self._next_round(context, run)) is not None:
                run.rounds.append(rerun)
                return self._wait(context, run)
            return self._finish(context, run)

    def _wait(self, context: Context, run: RunState) -> Any:
        """Wait for the last round's batches, here then (deferrable) on the triggerer, until the run's deadline."""
        last = run.last
        what = Wait(
            last.batch_ids,
            run.submitted_at + self.timeout,
            expected_items=last.expected_items,
            carry=run.to_json(),
            poll_interval=self.poll_interval,
            cancel_on_kill=self.cancel_on_kill,
        )
        return self.execute_complete(context, dict(wait(self, self.hook, what, deferrable=self.deferrable)))

    def _submit_round(
        self, context: Context, run: RunState, request: BatchRequest, number: int, indices: list[int] | None = None
    ) -> Round:
        """Create a round's batches (or re-attach to an earlier try's); every batch of the run goes to XCom."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        map_index = -1 if map_index is None else map_index
        scope = SubmissionScope(ti.dag_id, ti.task_id, ti.run_id, map_index, str(self.submission_key or ""), number)
        chunks = plan_chunks(request, scope, indices)
        if indices is not None:
            batches = f"{len(chunks)} batch{'' if len(chunks) == 1 else 'es'}"
            self.log.info("round %d: re-running %d failed items in %s", number, len(indices), batches)
        with self.hook.get_conn() as client:
            batch_ids = submit(client, chunks, context.get("task_state_store"), number, self.log)
        self._created.extend(batch_ids)
        ti.xcom_push(key="batch_ids", value=[*run.batch_ids, *batch_ids])
        if number == 0:
            publish_batch_url(self, context, batch_ids[0], None, self.hook.dashboard_url)
        return Round(number, batch_ids, [len(chunk.indices) for chunk in chunks], indices)

    def _next_round(self, context: Context, run: RunState) -> Round | None:
        """The batches re-running the items the last round left failed, if rounds and time are left."""
        last = run.last
        if last.number >= self.retry_failed_items:
            return None
        with self.hook.get_conn() as client:
            failed = rerun_inputs(client, last)
        if not failed:
            return None
        if time.time() >= run.submitted_at + self.timeout:
            self.log.warning("No time left to re-run %d failed items: the deadline passed", len(failed))
            return None
        # The inputs were checked when the task started; a resumed task renders the same ones.
        request = BatchRequest(self.model, list(self.inputs), self.metadata, self.callback_url, self.chunk_size)
        return self._submit_round(context, run, request, last.number + 1, failed)

    def _finish(self, context: Context, run: RunState) -> Any:
        """Every input's entry (media copied, or streamed to ``output_path``), then the one finish path."""
        states = [state for r in run.rounds for state in r.states]
        tally = Tally()
        copier: MediaCopier | None = None
        with self.hook.get_conn() as client, ExitStack() as stack:
            entries = run_entries(client, run, tally)
            if self.media_path:
                copier = stack.enter_context(open_copier(str(self.media_path), context, self.media, client))
                entries = persisted(entries, copier)
            if self.output_path:
                value: Any = write_jsonl(str(self.output_path), entries, run.batch_ids)
            else:
                value = [entry for batch in entries for entry in batch]
        if self.retry_failed_items:
            tally.rounds = [r.counts() for r in run.rounds]
        publish_batch_url(self, context, states[0].batch_id, states[0].links, self.hook.dashboard_url)
        media = None if copier is None else media_error(copier, str(self.media_path), self.media)
        collected = Collected(value, tally, media)
        value, summary = finish(context, states, collected, self.policy, run.submitted_at, self.log)
        if self.outlets:
            folder = None if copier is None else copier.folder.uri
            place = ResultsPlace(self.output_path, self.media_path, folder)
            extra = asset_extra(summary, self.model, place)
            fill_outlet_events(list(self.outlets), context, extra, self._model_asset)
        return value

    def _model_asset(self) -> Any:
        return model_asset(self.hook.client_config.base_url, self.model)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """A ``runflow`` run facet (batches, model, counts, cost) and ``output_path``/``media_path`` as outputs."""
        from airflow_provider_runflow.steps.lineage import operator_lineage

        keys = ("summary", "batch_ids")
        xcoms = {key: _own_xcom(task_instance, key) for key in keys}
        return operator_lineage(self.model, xcoms, [self.output_path, self.media_path])

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same facets: what the run created and counted before it failed."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def on_kill(self) -> None:
        """Blocking mode only (a deferred task is killed through its trigger): cancel runs if asked to."""
        if self.cancel_on_kill and self._created:
            with self.hook.get_conn() as client:
                if may_cancel(client.config.api_key, self.log):
                    client.send(cancel_batches(self._created, self.log))


def _own_xcom(ti: Any, key: str) -> Any:
    """The task instance's own XCom ``key``, also when it is mapped.

    Without ``map_indexes``, Airflow 3.3's ``xcom_pull`` returns every mapped instance's value
    as a list as soon as two of them pushed one (its docstring says otherwise).
    """
    return ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=ti.map_index)
