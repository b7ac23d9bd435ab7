"""RunflowBatchOperator: run a Runflow model over many inputs and hand every item's output downstream."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import BaseOperator
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_runflow.assets.runflow import model_asset
from airflow_provider_runflow.batching.budget import (
    RunflowBudgetError,
    Spend,
    budget_message,
    money,
    next_wave,
    parse_max_cost,
    skipped_entries,
)
from airflow_provider_runflow.batching.outcome import finished_batches
from airflow_provider_runflow.batching.pacing import PollInterval, check_poll_interval
from airflow_provider_runflow.batching.plan import BatchRequest, Chunk, SubmissionScope, check_chunk_size, plan_chunks
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.review import (
    APPROVE,
    REGENERATE,
    REJECT,
    Decision,
    RunflowReviewRejectedError,
    marked,
)
from airflow_provider_runflow.batching.rounds import Round, RunState
from airflow_provider_runflow.client import RunflowInputError
from airflow_provider_runflow.client.cancellation import cancel_batches, may_cancel
from airflow_provider_runflow.client.errors import InputProblem
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.links.batch import RunflowBatchLink, publish_batch_url
from airflow_provider_runflow.links.outputs import RunflowOutputsLink
from airflow_provider_runflow.media.options import MediaOptions
from airflow_provider_runflow.media.persist import media_error, open_copier, persisted
from airflow_provider_runflow.steps.entries import rerun_inputs, run_entries, write_jsonl
from airflow_provider_runflow.steps.finish import Collected, finish
from airflow_provider_runflow.steps.outcomes import ending_as_airflow
from airflow_provider_runflow.steps.outlets import ResultsPlace, asset_extra, fill_outlet_events
from airflow_provider_runflow.steps.review import (
    RunflowReview,
    ask,
    budget_answer,
    decision_of_event,
    put_budget_question,
    raised_budget,
    record_decisions,
    record_raised_budget,
    recorded_decisions,
)
from airflow_provider_runflow.steps.submission import submit
from airflow_provider_runflow.steps.waiting import Wait, wait

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

__all__ = ["RunflowBatchOperator", "RunflowReview"]


def approved(run: RunState) -> bool:
    """Whether the last review decision approved the run."""
    return bool(run.reviews) and run.reviews[-1]["choice"] == APPROVE


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
    :param max_cost: a budget for the task's batches, in Runflow's currency: a decimal string (templated) or
        ``Decimal``. One batch goes first; its cost per item projects what the rest would cost, and further
        batches go in waves only while the spend plus the projection stays within it (retry rounds count too).
        Inputs that do not fit are skipped (docs/cost.md). ``None`` (default): no guard, no extra step.
    :param on_budget: when the guard would skip inputs: ``"fail"`` the task once, without retries, naming the
        figures; ``"continue"``: succeed with the skipped inputs' entries (``status`` ``"skipped"``); or
        ``"ask"`` a person, through Airflow's human-in-the-loop (3.3+), to raise ``max_cost`` or stop there.
    :param review: ``True`` or a :class:`~airflow_provider_runflow.steps.review.RunflowReview`: once the batches
        are over, a person approves the results, has the rejected items regenerated (optionally with new input
        fields), or rejects the run, through Airflow's human-in-the-loop (Airflow 3.3+, docs/review.md).
        Approved entries gain ``review``: ``"approved"`` (or ``"rejected"`` for items the reviewer turned down).
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
        "max_cost",
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
        max_cost: str | Decimal | None = None,
        on_budget: Literal["fail", "continue", "ask"] = "fail",
        review: bool | RunflowReview = False,
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
        self.max_cost = max_cost
        self.on_budget = on_budget
        self.review = RunflowReview() if review is True else (review or None)
        self.runflow_batch_url: str | None = None
        self._created: list[str] = []
        """Batches this task process created or re-attached to: what ``on_kill`` cancels in blocking mode."""
        check_chunk_size(chunk_size)
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if retry_failed_items < 0:
            raise ValueError(f"retry_failed_items must be 0 or more, got {retry_failed_items!r}")
        if on_budget not in ("fail", "continue", "ask"):
            raise ValueError(f"on_budget must be 'fail', 'continue' or 'ask', got {on_budget!r}")
        if on_budget == "ask" and not AIRFLOW_V_3_3_PLUS:
            raise ValueError("on_budget='ask' needs Airflow 3.3 or newer: it waits in its awaiting_input state")
        if on_budget == "ask" and review:
            raise ValueError(
                "on_budget='ask' and review cannot share a task: Airflow keeps one question (its options) per try"
            )
        if not (isinstance(max_cost, str) and "{{" in max_cost):
            parse_max_cost(max_cost)  # a template is checked once rendered
        if self.review is not None and not AIRFLOW_V_3_3_PLUS:
            raise ValueError("review needs Airflow 3.3 or newer: it waits in Airflow 3.3's awaiting_input state")

    @cached_property
    def hook(self) -> RunflowHook:
        """One hook per task run, so the connection is looked up once, not per request."""
        return RunflowHook(self.runflow_conn_id)

    def execute(self, context: Context) -> Any:
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            request = BatchRequest.checked(self.model, self.inputs, self.metadata, self.callback_url, self.chunk_size)
            chunks = plan_chunks(request, self._scope(context, 0))
            run = RunState(time.time(), [Round(0, [], [])])
            # With a budget, one batch first: its cost per item decides how many more may follow.
            run.max_cost = raised_budget(context.get("task_state_store"))  # a person raised it for an earlier try
            self._send(context, run, chunks[:1] if self._max_cost(run) is not None else chunks)
            return self._wait(context, run)

    def execute_complete(self, context: Context, event: dict[str, Any], **_: Any) -> Any:
        """A wait is over: send the next wave or round if one is due, else finish.

        Keyword arguments are ignored: only tasks deferred by version 0.1.0 pass some, which the event now carries.
        """
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            run = RunState.of_event(event, time.time())
            finished_batches(event, judge_items=self.retry_failed_items > 0)
            run.last.batches.extend(event["batches"])
            if self._send_wave(context, run) or self._send_rerun(context, run):
                return self._wait(context, run)
            return self._finish(context, run)

    def _wait(self, context: Context, run: RunState) -> Any:
        """Wait for the last wave's batches, here then (deferrable) on the triggerer, until the run's deadline."""
        batch_ids, expected = run.last.pending
        what = Wait(
            batch_ids,
            run.submitted_at + self.timeout,
            expected_items=expected,
            carry=run.to_json(),
            poll_interval=self.poll_interval,
            cancel_on_kill=self.cancel_on_kill,
        )
        return self.execute_complete(context, dict(wait(self, self.hook, what, deferrable=self.deferrable)))

    def _scope(self, context: Context, number: int) -> SubmissionScope:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        map_index = -1 if map_index is None else map_index
        return SubmissionScope(ti.dag_id, ti.task_id, ti.run_id, map_index, str(self.submission_key or ""), number)

    def _request(self, run: RunState) -> BatchRequest:
        """The task's request on resume, with the reviewers' changes: the inputs were checked when the task started
        (it renders the same ones), the changes when they were read."""
        inputs = list(self.inputs)
        for review in map(Decision.from_json, run.reviews):
            for index, fields in review.changes.items():
                inputs[int(index)] = {**inputs[int(index)], **fields}
        return BatchRequest(self.model, inputs, self.metadata, self.callback_url, self.chunk_size)

    def _max_cost(self, run: RunState) -> Decimal | None:
        """The budget: one a person raised it to, or the rendered ``max_cost``; a bad one fails the task
        without retries, as bad input does."""
        try:
            return parse_max_cost(run.max_cost or self.max_cost)
        except ValueError as err:
            raise RunflowInputError([InputProblem(None, "max_cost", str(err))]) from None

    def _send(self, context: Context, run: RunState, chunks: list[Chunk]) -> None:
        """Create a wave of the last round's batches (or re-attach to an earlier try's); all the run's go to XCom."""
        last = run.last
        with self.hook.get_conn() as client:
            batch_ids = submit(client, chunks, context.get("task_state_store"), last.number, self.log)
        self._created.extend(batch_ids)
        last.batch_ids.extend(batch_ids)
        last.expected_items.extend(len(chunk.indices) for chunk in chunks)
        context["ti"].xcom_push(key="batch_ids", value=run.batch_ids)
        if run.batch_ids == batch_ids:
            publish_batch_url(self, context, batch_ids[0], None, self.hook.dashboard_url)

    def _send_wave(self, context: Context, run: RunState) -> bool:
        """With a budget: the next wave of round 0, as far as the spend guard admits; the rest is skipped."""
        max_cost, first = self._max_cost(run), run.rounds[0]
        if max_cost is None or run.last is not first or run.skipped_from is not None:
            return False
        waiting = plan_chunks(self._request(run), self._scope(context, 0))[len(first.batch_ids) :]
        if not waiting:
            return False
        spent = Spend.of(run.states)
        wave = next_wave(max_cost, spent, [len(chunk.indices) for chunk in waiting], self.chunk_size)
        self.log.info(
            "Budget: spent %s of %s on %d items (%s per item); all inputs would cost about %s; next wave: %d items",
            money(wave.spent),
            max_cost,
            spent.items,
            money(wave.per_item),
            money(wave.projected_total),
            wave.items,
        )
        if not wave.batches:
            message = budget_message(max_cost, spent, len(self.inputs), waiting[0].indices[0])
            if self.on_budget == "ask":
                self._ask_budget(context, run, message)
            run.skipped_from = waiting[0].indices[0]
            self.log.warning("%s", message)
            return False
        self._send(context, run, waiting[: wave.batches])
        return True

    def _ask_budget(self, context: Context, run: RunState, message: str) -> None:
        """Ask a person to raise the budget or stop here, and park until they answer."""
        from airflow.sdk.exceptions import TaskAwaitingInput  # Airflow 3.3+, which on_budget="ask" requires

        put_budget_question(context, message)
        self.log.info("Budget reached: waiting for a person to raise max_cost or stop (required actions)")
        raise TaskAwaitingInput(method_name="budget_complete", kwargs={"carry": run.to_json()})

    def budget_complete(self, context: Context, event: dict[str, Any], carry: dict[str, Any], **_: Any) -> Any:
        """A person raised the budget (the next wave goes if it fits; else they are asked again) or stopped."""
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            run = RunState.from_json(carry)
            current = self._max_cost(run)
            assert current is not None
            try:
                raised = budget_answer(event, current)
            except RunflowInputError as err:
                self.log.warning("The budget answer cannot be acted on (%s): asking again", err)
                self._ask_budget(context, run, f"{err}.")
            if raised is not None:
                run.max_cost = str(raised)
                record_raised_budget(context.get("task_state_store"), raised, self.log)
                self.log.info("Budget raised to %s by %s", raised, event.get("responded_by_user"))
            elif run.skipped_from is None:
                self.log.info(
                    "Budget: stopped here by %s; the inputs not sent are skipped", event.get("responded_by_user")
                )
                run.skipped_from = sum(run.rounds[0].expected_items)
            if self._send_wave(context, run) or self._send_rerun(context, run):
                return self._wait(context, run)
            return self._finish(context, run)

    def _send_rerun(self, context: Context, run: RunState) -> bool:
        """A round re-running the items the last round left failed, if rounds, time and budget are left."""
        last = run.last
        if last.number >= self.retry_failed_items:
            return False
        with self.hook.get_conn() as client:
            failed = rerun_inputs(client, last)
        if not failed:
            return False
        if time.time() >= run.submitted_at + self.timeout:
            self.log.warning("No time left to re-run %d failed items: the deadline passed", len(failed))
            return False
        chunks = plan_chunks(self._request(run), self._scope(context, last.number + 1), failed)
        if (max_cost := self._max_cost(run)) is not None:
            sizes = [len(chunk.indices) for chunk in chunks]
            admitted = next_wave(max_cost, Spend.of(run.states), sizes, sum(sizes)).batches
            if admitted < len(chunks):
                left = sum(sizes[admitted:])
                self.log.warning("Budget: %d failed items are not re-run, to stay within max_cost=%s", left, max_cost)
            chunks = chunks[:admitted]
            if not chunks:
                return False
        indices = [index for chunk in chunks for index in chunk.indices]
        batches = f"{len(chunks)} batch{'' if len(chunks) == 1 else 'es'}"
        self.log.info("round %d: re-running %d failed items in %s", last.number + 1, len(indices), batches)
        run.rounds.append(Round(last.number + 1, [], [], indices, review=last.review))
        self._send(context, run, chunks)
        return True

    def _finish(self, context: Context, run: RunState) -> Any:
        """Every input's entry, then the one finish path; then the review, if asked for, else the outlets' events."""
        collected, folder = self._collect(context, run)
        value, summary = finish(context, run.states, collected, self.policy, run.submitted_at, self.log)
        if self.review is not None and not approved(run):
            return self._ask(context, run, value, summary)
        if self.outlets:
            extra = asset_extra(summary, self.model, ResultsPlace(self.output_path, self.media_path, folder))
            fill_outlet_events(list(self.outlets), context, extra, self._model_asset)
        return value

    def _collect(self, context: Context, run: RunState) -> tuple[Collected, str | None]:
        """Every input's entry in input order (media copied, or streamed to ``output_path``), and the media folder."""
        tally, copier = Tally(), None
        max_cost = self._max_cost(run)
        skipped: list[dict[str, Any]] = []
        budget = None
        if max_cost is not None and run.skipped_from is not None:
            inputs = list(self.inputs)
            message = budget_message(max_cost, Spend.of(run.states), len(inputs), run.skipped_from)
            skipped = skipped_entries(inputs, run.skipped_from, message)
            budget = RunflowBudgetError(message) if self.on_budget == "fail" else None  # "ask": a person stopped it
        with self.hook.get_conn() as client, ExitStack() as stack:
            entries = run_entries(client, run, tally)
            if self.media_path:
                copier = stack.enter_context(open_copier(str(self.media_path), context, self.media, client))
                entries = persisted(entries, copier)
            if skipped:
                tally.add(skipped)
                entries = chain(entries, [skipped])
            if approved(run):
                rejected = set(Decision.from_json(run.reviews[-1]).rejected)
                entries = ([marked(entry, rejected) for entry in batch] for batch in entries)
            if self.output_path:
                value: Any = write_jsonl(str(self.output_path), entries, run.batch_ids)
            else:
                value = [entry for batch in entries for entry in batch]
        if self.retry_failed_items:
            tally.rounds = [r.counts() for r in run.rounds]
        first = run.states[0]
        publish_batch_url(self, context, first.batch_id, first.links, self.hook.dashboard_url)
        media = None if copier is None else media_error(copier, str(self.media_path), self.media)
        collected = Collected(value, tally, media, max_cost, budget, run.reviews if self.review else None)
        return collected, None if copier is None else copier.folder.uri

    def _ask(self, context: Context, run: RunState, value: Any, summary: dict[str, Any]) -> Any:
        """The next review round's decision: one an earlier try already read, an answer, or park until one comes."""
        assert self.review is not None
        review_round = len(run.reviews) + 1
        if len(earlier := recorded_decisions(context.get("task_state_store"))) >= review_round:
            self.log.info("Review round %d was decided in an earlier try: not asking again", review_round)
            return self._decided(context, run, earlier[review_round - 1])
        context["ti"].xcom_push(key="return_value", value=value)  # the outputs tab shows them while waiting
        answer = ask(context, self.review, review_round, summary)
        if answer is not None:
            return self._decided(context, run, answer)
        from airflow.sdk.exceptions import TaskAwaitingInput  # Airflow 3.3+, which review requires

        self.log.info("Review round %d: waiting for a person (required actions, or the outputs tab)", review_round)
        raise TaskAwaitingInput(
            method_name="review_complete", kwargs={"carry": run.to_json()}, timeout=self.review.response_timeout
        )

    def review_complete(self, context: Context, event: dict[str, Any], carry: dict[str, Any], **_: Any) -> Any:
        """A person answered (or ``response_timeout`` passed): act on the decision."""
        with ending_as_airflow(resubmits=bool(self.submission_key)):
            run = RunState.from_json(carry)
            try:
                answer = decision_of_event(event, len(run.reviews) + 1, len(self.inputs))
            except RunflowInputError as err:
                self.log.warning("The review answer cannot be acted on (%s): asking again", err)
                return self._finish(context, run)
            return self._decided(context, run, answer)

    def _decided(self, context: Context, run: RunState, decision: Decision) -> Any:
        """Record the decision (a retry replays it), then approve, regenerate the rejected items, or fail."""
        assert self.review is not None
        run.reviews.append(decision.to_json())
        record_decisions(context.get("task_state_store"), [Decision.from_json(d) for d in run.reviews], self.log)
        self.log.info("Runflow %s", decision.describe())
        if decision.choice == REJECT:
            raise RunflowReviewRejectedError(f"The run was rejected in {decision.describe()}")
        if decision.choice == REGENERATE:
            if decision.round > self.review.max_rounds:
                raise RunflowReviewRejectedError(
                    f"{decision.describe()}, past max_rounds={self.review.max_rounds}: the run is not approved"
                )
            number = run.last.number + 1
            chunks = plan_chunks(self._request(run), self._scope(context, number), decision.rejected)
            self.log.info("round %d: regenerating %d rejected items", number, len(decision.rejected))
            run.rounds.append(Round(number, [], [], decision.rejected, review=decision.round))
            self._send(context, run, chunks)
            return self._wait(context, run)
        return self._finish(context, run)

    def _model_asset(self) -> Any:
        return model_asset(self.hook.client_config.base_url, self.model)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """A ``runflow`` run facet (batches, model, counts, cost) and ``output_path``/``media_path`` as outputs."""
        from airflow_provider_runflow.steps.lineage import operator_lineage

        keys = ("summary", "batch_ids")
        xcoms = {key: task_instance.xcom_pull(task_ids=task_instance.task_id, key=key) for key in keys}
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
