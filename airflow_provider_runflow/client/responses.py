"""Reading Runflow's answers: the one place a response becomes a result or a typed :class:`RunflowError`."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from airflow_provider_runflow.client.calls import ApiCall
from airflow_provider_runflow.client.errors import (
    RunflowAPIError,
    RunflowResponseError,
    RunflowTimeoutError,
    RunflowTransportError,
    api_error_class,
)
from airflow_provider_runflow.client.models import ErrorResponse

T = TypeVar("T")

Reply = tuple[httpx.Response, bytes] | httpx.TransportError
"""What one attempt got: the response with its whole body, or the transport error that stopped it."""


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


def read_reply(call: ApiCall[T], reply: Reply) -> T:
    """The result of ``call`` from one attempt's reply, or the typed error it stands for."""
    if isinstance(reply, httpx.TransportError):
        raise transport_error(call, reply)
    response, body = reply
    return handle_response(call, response, body, time.time())
