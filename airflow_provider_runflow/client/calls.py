"""The Runflow endpoints as I/O-free call descriptions.

Each endpoint is written once, here, as a function that returns an :class:`ApiCall`;
a request that takes several calls (following cursors) is an :data:`Exchange`, a
generator that yields calls and receives their results. ``RunflowClient.send`` and
``AsyncRunflowClient.send`` take either, so adding an endpoint touches this file only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import TypeAdapter

from airflow_provider_runflow.client.errors import RunflowResponseError
from airflow_provider_runflow.client.models import (
    Batch,
    BatchItemRow,
    BatchItemsPage,
    BatchStatus,
    CallbackDelivery,
    CreateBatchRequest,
)
from airflow_provider_runflow.client.validation import build_batch_request, parse_model_ref

T = TypeVar("T")

MAX_ITEMS_PAGE = 500


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One request to Runflow and how to read its answer.

    ``replayable`` says whether sending it twice is harmless (a GET, or a POST
    with an Idempotency-Key); the retry policy only resends what is.
    """

    method: str
    path: str
    parse: Callable[[bytes], T]
    """Reads the JSON body (bytes) into the result: pydantic parses straight from them, building no
    Python objects for fields the result does not keep."""
    params: dict[str, str] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    replayable: bool = True


Exchange = Generator[ApiCall[Any], Any, T]
"""Several calls that make one request: yields each call, is sent its result (or thrown its error), returns T."""


def json_body(value: Any) -> bytes:
    """The exact bytes sent for a JSON body: compact UTF-8, and never NaN (which JSON cannot carry)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


_JSON = {"Content-Type": "application/json"}


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value.strip(), safe="")


def create_batch(
    model: str, request: CreateBatchRequest, idempotency_key: str | None = None, *, checked: bool = False
) -> ApiCall[Batch]:
    """``POST /v1/models/{owner}/{slug}/batches``; only retried when ``idempotency_key`` is set.

    ``request`` is checked locally first, naming every bad item and field, unless ``checked`` says it
    already was: the operator checks all of a task's inputs once, then cuts its batches from them.
    """
    owner, slug = parse_model_ref(model)
    if not checked:
        request = build_batch_request(request.input, request.metadata, request.callback_url)
    path = f"/v1/models/{quote(owner, safe='')}/{quote(slug, safe='/')}/batches"
    body = json_body(request.model_dump(mode="json", exclude_none=True))
    call = ApiCall("POST", path, Batch.model_validate_json, body=body, headers=_JSON, replayable=False)
    return with_idempotency_key(call, idempotency_key) if idempotency_key else call


def with_idempotency_key(call: ApiCall[T], key: str) -> ApiCall[T]:
    """``call`` with an ``Idempotency-Key``: Runflow answers a resend with the first result, so it may be retried."""
    return replace(call, headers={**call.headers, "Idempotency-Key": key}, replayable=True)


def get_batch(batch_id: str) -> ApiCall[Batch]:
    """``GET /v1/batches/{id}``: status, counts and lean items."""
    return ApiCall("GET", _batch_path(batch_id), Batch.model_validate_json)


def poll_batch(batch_id: str) -> ApiCall[BatchStatus]:
    """``GET /v1/batches/{id}`` read for polling: status, counts, cost, failure and links.

    Its ``items`` and ``input`` are skipped while parsing, not decoded and dropped: turning
    100 lean items into Python objects costs more CPU than the rest of a poll, and their
    short-lived objects make the garbage collector run more often for thousands of
    triggers (docs/benchmarks.md).
    """
    return ApiCall("GET", _batch_path(batch_id), BatchStatus.model_validate_json)


def _batch_path(batch_id: str) -> str:
    return f"/v1/batches/{_segment(batch_id, 'batch_id')}"


@dataclass(frozen=True)
class ItemsQuery:
    """Query of ``GET /v1/batches/{batch_id}/items``; ``pq`` is the cursor of the page to fetch."""

    q: str | None = None
    limit: int | None = MAX_ITEMS_PAGE
    sort_by: str | None = None
    fields: str | None = None
    embed: str | None = None
    pq: str | None = None
    from_prev: bool = False
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.limit is not None and not 1 <= self.limit <= MAX_ITEMS_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_ITEMS_PAGE}, got {self.limit}")

    def params(self) -> dict[str, str]:
        named = {
            "q": self.q,
            "limit": None if self.limit is None else str(self.limit),
            "sort_by": self.sort_by,
            "fields": self.fields,
            "embed": self.embed,
            "pq": self.pq,
            "from_prev": "true" if self.from_prev else None,
        }
        return {**dict(self.extra), **{k: v for k, v in named.items() if v is not None}}

    def follow(self, cursor: str) -> ItemsQuery:
        """The query for the page a ``next``/``previous`` cursor points to.

        Runflow publishes cursors both as bare ``pq`` tokens and as full URLs; a
        URL's query replaces ours, but only its query is used, never its host.
        """
        if "?" not in cursor and not cursor.startswith(("http://", "https://", "/")):
            return replace(self, pq=cursor)
        given = dict(parse_qsl(urlsplit(cursor).query, keep_blank_values=True))
        limit = given.pop("limit", "")
        return replace(
            self,
            q=given.pop("q", self.q),
            sort_by=given.pop("sort_by", self.sort_by),
            fields=given.pop("fields", self.fields),
            embed=given.pop("embed", self.embed),
            pq=given.pop("pq", None),
            from_prev=given.pop("from_prev", "false").lower() == "true",
            limit=int(limit) if limit.isdigit() else self.limit,
            extra=tuple(given.items()),
        )


def list_batch_items(batch_id: str, query: ItemsQuery | None = None) -> ApiCall[BatchItemsPage]:
    """One page of ``GET /v1/batches/{batch_id}/items``."""
    path = f"/v1/batches/{_segment(batch_id, 'batch_id')}/items"
    return ApiCall("GET", path, BatchItemsPage.model_validate_json, params=(query or ItemsQuery()).params())


def batch_item_pages(batch_id: str, query: ItemsQuery | None = None) -> Exchange[list[BatchItemsPage]]:
    """Every page of a batch's items, following the cursor to the end."""
    pages: list[BatchItemsPage] = []
    next_query: ItemsQuery | None = query or ItemsQuery()
    seen: set[str] = set()
    while next_query is not None:
        page = yield list_batch_items(batch_id, next_query)
        pages.append(page)
        next_query = next_items_query(batch_id, next_query, page, seen)
    return pages


def batch_items(batch_id: str, query: ItemsQuery | None = None) -> Exchange[list[BatchItemRow]]:
    """Every item of a batch, page by page (a batch holds at most 100, so a list costs nothing)."""
    pages = yield from batch_item_pages(batch_id, query)
    return [item for page in pages for item in page.items]


def next_items_query(batch_id: str, query: ItemsQuery, page: BatchItemsPage, seen: set[str]) -> ItemsQuery | None:
    """The query for the page after ``page``, or None at the end; ``seen`` guards against cursor loops."""
    cursor = page.previous if query.from_prev else page.next
    if not cursor or not page.items:
        return None
    if cursor in seen:
        raise RunflowResponseError("GET", f"/v1/batches/{batch_id}/items", 200, f"cursor {cursor!r} repeats")
    seen.add(cursor)
    return query.follow(cursor)


_DELIVERIES = TypeAdapter(list[CallbackDelivery])


def get_batch_callback(batch_id: str) -> ApiCall[list[CallbackDelivery]]:
    """``GET /v1/batches/{batch_id}/callback``: callback deliveries with their attempts."""
    path = f"/v1/batches/{_segment(batch_id, 'batch_id')}/callback"
    return ApiCall("GET", path, _DELIVERIES.validate_json)


def _json_value(body: bytes) -> Any:
    return json.loads(body)


def redeliver_batch_callback(batch_id: str) -> ApiCall[Any]:
    """``POST /v1/batches/{batch_id}/callback-redeliveries`` (the batch must be terminal)."""
    path = f"/v1/batches/{_segment(batch_id, 'batch_id')}/callback-redeliveries"
    return ApiCall("POST", path, _json_value, replayable=False)


def cancel_run(run_id: str, reason: str) -> ApiCall[Any]:
    """Admin ``POST /v1/admin/runs/{run_id}/cancellation`` (service keys only; 200 if already terminal)."""
    if not 3 <= len(reason) <= 500:
        raise ValueError("reason must be 3 to 500 characters")
    path = f"/v1/admin/runs/{_segment(run_id, 'run_id')}/cancellation"
    return ApiCall("POST", path, _json_value, body=json_body({"reason": reason}), headers=_JSON, replayable=True)
