"""The page's data: one page of a task instance's items, with the header of its run, as pydantic models.

Every task instance gets a page, whatever its state: one still deferred shows the batches the
operator recorded before deferring; one that failed, is mapped, or is not Runflow's says so.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from airflow_provider_runflow.batching.failures import error_text
from airflow_provider_runflow.batching.results import SKIPPED
from airflow_provider_runflow.plugins.entries import (
    BUCKETS,
    EntriesError,
    PageRequest,
    bucket,
    count_buckets,
    counts_by_filter,
    jsonl_entries,
    jsonl_page,
    page_of,
)
from airflow_provider_runflow.plugins.media import Preview, Shown, previews
from airflow_provider_runflow.plugins.review_view import ReviewView
from airflow_provider_runflow.plugins.storage import StoragePolicy, open_regular_file
from airflow_provider_runflow.plugins.task_record import TaskKey, TaskRecord

WAITING_STATES = {"scheduled", "queued", "running", "deferred", "up_for_reschedule", "up_for_retry", "restarting"}
"""States of a task that has not finished: its results are still to come."""
RUNFLOW_TASKS = frozenset({"RunflowBatchOperator", "_RunflowBatchDecoratedOperator", "RunflowBatchSensor"})
"""Task types (a task instance's ``operator``) that record Runflow results: the operator,
``@task.runflow_batch``, the sensor."""


class ItemView(BaseModel):
    """One item of the grid."""

    index: int | None
    client_ref: str | None
    status: str | None
    bucket: str
    error: str | None
    cost: str | None
    attempts: int | None
    batch_id: str | None
    run_id: str | None
    output: Any
    previews: list[Preview]
    review: str | None = None
    """``approved`` or ``rejected`` once a reviewer approved the run (``review=``)."""
    review_round: int | None = None
    """The review round whose rejection regenerated the item."""


class BatchView(BaseModel):
    batch_id: str
    url: str | None


class OutputsView(BaseModel):
    """Everything the page shows; also served as JSON by the ``/items`` route."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    summary: dict[str, Any] | None
    rounds: list[dict[str, Any]]
    batches: list[BatchView]
    output_path: str | None
    notice: str | None
    status: str
    page: int
    per_page: int
    pages: int
    matching: int
    counts: dict[str, int]
    items: list[ItemView]
    map_indexes: list[int]
    review: ReviewView | None = None
    """Only for a task that asks for a review (``review=``)."""


def build_view(record: TaskRecord, request: PageRequest, storage: StoragePolicy) -> OutputsView:
    """The requested page of ``record``'s items (stored media only where ``storage`` allows) and its header."""
    key, summary = record.key, record.summary
    shown = Shown(key, storage, datetime.datetime.now(datetime.UTC))
    entries, counts, notice = _read_page(record, request, storage)
    matching = counts.get(request.status, 0)
    return OutputsView(
        **{field: getattr(key, field) for field in ("dag_id", "run_id", "task_id", "map_index")},
        state=record.state,
        summary=summary,
        rounds=_rounds(summary),
        batches=_batches(record),
        output_path=record.manifest["output_path"] if record.manifest else None,
        notice=_with_unreadable(notice, record),
        status=request.status,
        page=request.page,
        per_page=request.per_page,
        pages=max(1, -(-matching // request.per_page)),  # integers: a count of 10**400 has no float
        matching=matching,
        counts=counts,
        items=[_item(entry, key, shown) for entry in entries],
        map_indexes=list(record.map_indexes),
    )


Page = tuple[list[dict[str, Any]], dict[str, int], str | None]


def _read_page(record: TaskRecord, request: PageRequest, storage: StoragePolicy) -> Page:
    """The page's entries, the count per filter, and a notice when the entries cannot all be shown."""
    returned, manifest = record.returned, record.manifest
    if manifest is not None:
        return _jsonl_page(manifest["output_path"], record, request, storage)
    if isinstance(returned, list) and all(isinstance(entry, dict) for entry in returned):
        counts = _summary_counts(record.summary) or counts_by_filter(count_buckets(returned))
        return page_of(returned, request), counts, None
    failed = (record.summary or {}).get("failed_items")
    if returned is None and isinstance(failed, list) and all(isinstance(entry, dict) for entry in failed):
        note = "The task returned no results; these are the failed items its summary names."
        return page_of(failed, request), counts_by_filter(count_buckets(failed)), note
    return [], counts_by_filter({}), _nothing_to_show(record)


def _summary_counts(summary: dict[str, Any] | None) -> dict[str, int] | None:
    """Entries per filter from the ``summary`` XCom, which counts them as the entries were collected."""
    if summary is None:
        return None
    # Summaries written before the spend guard have no ``skipped``: none were.
    counts = {SKIPPED: 0} | {name: summary[name] for name in BUCKETS if isinstance(summary.get(name), int)}
    return counts_by_filter(counts) if counts.keys() == set(BUCKETS) else None


def _nothing_to_show(record: TaskRecord) -> str:
    """What the page says of a task instance without entries: why there are none, and what comes."""
    state, batches = record.state or "unknown", len(record.batch_ids)
    if record.map_indexes:
        return "This task is mapped: open one of its mapped task instances."
    if record.returned is not None:
        return "This task's return value is not a list of Runflow result entries."
    if record.operator and record.operator not in RUNFLOW_TASKS and not (record.summary or batches):
        return f"This task ({record.operator}) records no Runflow results."
    if record.state is None or state in WAITING_STATES:
        doing = "has not started" if record.state is None else f"is {state.replace('_', ' ')}"
        so_far = f"{batches} batch{'es' if batches != 1 else ''} submitted so far" if batches else "no batch yet"
        return f"The task {doing} ({so_far}): its results appear here once it finishes."
    if state in ("failed", "upstream_failed"):
        return "The task failed before recording results: its log says why."
    return f"This task recorded no results (state: {state})."


def _with_unreadable(notice: str | None, record: TaskRecord) -> str | None:
    if not record.unreadable:
        return notice
    keys = ", ".join(record.unreadable)
    note = f"Not shown: XCom {keys}, which cannot be decoded or is nested too deeply."
    return f"{notice} {note}" if notice else note


def _jsonl_page(uri: str, record: TaskRecord, request: PageRequest, storage: StoragePolicy) -> Page:
    if refused := storage.refusal(uri, record.key):
        return [], counts_by_filter({}), f"The results are in {uri}, {refused}: this page may not read them."
    try:
        counts = _summary_counts(record.summary)
        if counts is None:
            with open_lines(uri) as lines:
                counts = counts_by_filter(count_buckets(jsonl_entries(lines)))
        with open_lines(uri) as lines:
            return jsonl_page(lines, request), counts, None
    except FileNotFoundError:
        return [], counts_by_filter({}), f"The results file {uri} does not exist (any more)."
    except (EntriesError, OSError, ValueError) as err:  # ValueError: not UTF-8 text (an image, say)
        reason = err if isinstance(err, EntriesError) else type(err).__name__
        return [], counts_by_filter({}), f"The results file {uri} cannot be read: {reason}."


@contextmanager
def open_lines(uri: str) -> Iterator[Iterator[str]]:
    """The lines of a UTF-8 text file in object storage, read as they are consumed; only a regular file."""
    with io.TextIOWrapper(open_regular_file(uri)[0], encoding="utf-8") as file:
        yield iter(file)


def _item(entry: dict[str, Any], key: TaskKey, shown: Shown) -> ItemView:
    index = entry.get("index") if isinstance(entry.get("index"), int) else None

    def media_url(k: int) -> str:
        return "media?" + urlencode({**key.query(), "item": index, "media": k})

    attempts, review_round = entry.get("attempts"), entry.get("review_round")
    return ItemView(
        index=index,
        client_ref=_text(entry.get("client_ref")),
        status=_text(entry.get("status")),
        bucket=bucket(entry.get("status")),
        error=error_text(entry.get("error")),
        cost=_text(entry.get("cost")),
        attempts=attempts if isinstance(attempts, int) else None,
        batch_id=_text(entry.get("batch_id")),
        run_id=_text(entry.get("run_id")),
        output=entry.get("output"),
        previews=previews(entry, media_url, shown) if index is not None else [],
        review=_text(entry.get("review")),
        review_round=review_round if isinstance(review_round, int) else None,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _rounds(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The per-round counts of a run with retry rounds, as a list of objects whatever shape they come in."""
    rounds = (summary or {}).get("rounds")
    if isinstance(rounds, dict):
        rounds = [{"round": name, **value} if isinstance(value, dict) else {"round": name, "items": value}
                  for name, value in rounds.items()]  # fmt: skip
    return [r for r in rounds if isinstance(r, dict)] if isinstance(rounds, list) else []


def _batches(record: TaskRecord) -> list[BatchView]:
    """Each batch with its dashboard link: the recorded link of the first, the same link with each id for the rest."""
    ids, url = record.batch_ids, record.batch_url
    if not ids:
        return []
    template = url[: -len(ids[0])] if url and url.endswith(ids[0]) else None
    return [
        BatchView(batch_id=batch_id, url=url if i == 0 else (template + batch_id if template else None))
        for i, batch_id in enumerate(ids)
    ]
