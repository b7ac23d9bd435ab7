"""The Runflow endpoints as I/O-free call descriptions, and the one place responses are parsed.

``RunflowClient`` and ``AsyncRunflowClient`` only send what these functions
describe, so the sync and async paths build and parse requests the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from pydantic import TypeAdapter, ValidationError

from airflow_provider_runflow.client.errors import (
    RunflowAPIError,
    RunflowResponseError,
    RunflowTimeoutError,
    RunflowTransportError,
    api_error_class,
)
from airflow_provider_runflow.client.models import (
    Batch,
    BatchItemsPage,
    CallbackDelivery,
    CreateBatchRequest,
    ErrorResponse,
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
    parse: Callable[[Any], T]
    params: dict[str, str] | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    replayable: bool = True


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value.strip(), safe="")


def create_batch(model: str, request: CreateBatchRequest, idempotency_key: str | None) -> ApiCall[Batch]:
    """``POST /v1/models/{owner}/{slug}/batches``; only retried when ``idempotency_key`` is set."""
    owner, slug = parse_model_ref(model)
    # Checked here too: a CreateBatchRequest built directly would have pydantic send NaN as null.
    request = build_batch_request(request.input, request.metadata, request.callback_url)
    path = f"/v1/models/{quote(owner, safe='')}/{quote(slug, safe='/')}/batches"
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    body = request.model_dump(mode="json", exclude_none=True)
    return ApiCall("POST", path, Batch.model_validate, body=body, headers=headers, replayable=bool(headers))


def get_batch(batch_id: str) -> ApiCall[Batch]:
    """``GET /v1/batches/{id}``: status, counts and lean items, for polling."""
    return ApiCall("GET", f"/v1/batches/{_segment(batch_id, 'batch_id')}", Batch.model_validate)


_POLL_SKIPS = ("items", "input")


def _batch_status(data: Any) -> Batch:
    """A batch without its ``items`` and ``input``, which polling never reads.

    Validating 100 lean items costs more CPU than the rest of a poll (docs/benchmarks.md).
    """
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key not in _POLL_SKIPS}
    return Batch.model_validate(data)


def poll_batch(batch_id: str) -> ApiCall[Batch]:
    """``GET /v1/batches/{id}`` read for polling: status, counts, cost, failure and links; no items."""
    return replace(get_batch(batch_id), parse=_batch_status)


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


def list_batch_items(batch_id: str, query: ItemsQuery) -> ApiCall[BatchItemsPage]:
    """One page of ``GET /v1/batches/{batch_id}/items``."""
    path = f"/v1/batches/{_segment(batch_id, 'batch_id')}/items"
    return ApiCall("GET", path, BatchItemsPage.model_validate, params=query.params())


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
    return ApiCall("GET", path, _DELIVERIES.validate_python)


def _any(data: Any) -> Any:
    return data


def redeliver_batch_callback(batch_id: str) -> ApiCall[Any]:
    """``POST /v1/batches/{batch_id}/callback-redeliveries`` (the batch must be terminal)."""
    path = f"/v1/batches/{_segment(batch_id, 'batch_id')}/callback-redeliveries"
    return ApiCall("POST", path, _any, replayable=False)


def cancel_run(run_id: str, reason: str) -> ApiCall[Any]:
    """Admin ``POST /v1/admin/runs/{run_id}/cancellation`` (service keys only; 200 if already terminal)."""
    if not 3 <= len(reason) <= 500:
        raise ValueError("reason must be 3 to 500 characters")
    path = f"/v1/admin/runs/{_segment(run_id, 'run_id')}/cancellation"
    return ApiCall("POST", path, _any, body={"reason": reason}, replayable=True)


def health() -> ApiCall[Any]:
    """``GET /v1/health``."""
    return ApiCall("GET", "/v1/health", _any)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def transport_error(call: ApiCall[Any], err: httpx.TransportError) -> RunflowTransportError:
    """Wrap an httpx transport failure; timeouts get their own type."""
    kind = RunflowTimeoutError if isinstance(err, httpx.TimeoutException) else RunflowTransportError
    error = kind(call.method, call.path, err)
    # Connection never established: the server cannot have seen the request.
    error.request_sent = not isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    return error


def _decode(call: ApiCall[Any], response: httpx.Response, body: bytes) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        raise RunflowResponseError(call.method, call.path, response.status_code, f"content type {content_type!r}")
    try:
        return json.loads(body)
    except ValueError as err:
        raise RunflowResponseError(call.method, call.path, response.status_code, f"malformed JSON: {err}") from None


def api_error(call: ApiCall[Any], response: httpx.Response, body: bytes, now: float) -> RunflowAPIError:
    """Build the typed error for an error response from its envelope, tolerating any body."""
    try:
        envelope = ErrorResponse.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        text = body[:200].decode(errors="replace").strip()
        envelope = ErrorResponse(message=text or response.reason_phrase or None)
    error = api_error_class(response.status_code)(
        call.method,
        call.path,
        response.status_code,
        code=envelope.code,
        message=envelope.message,
        errors=envelope.errors,
        request_id=response.headers.get("runflow-request-id") or response.headers.get("x-request-id"),
    )
    error.retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    return error


def handle_response(call: ApiCall[T], response: httpx.Response, body: bytes, now: float) -> T:
    """Turn an HTTP response and its ``body`` into the call's result or a typed :class:`RunflowError`."""
    if response.status_code >= 400:
        raise api_error(call, response, body, now)
    if response.status_code >= 300 or response.status_code < 200:
        raise RunflowResponseError(call.method, call.path, response.status_code, "unexpected status")
    data = _decode(call, response, body)
    try:
        return call.parse(data)
    except ValidationError as err:
        reason = f"body does not match the API schema ({err.error_count()} errors): {err.errors()[0]['msg']}"
        raise RunflowResponseError(call.method, call.path, response.status_code, reason) from None
