"""Reading Runflow's answers: the one place a response becomes a result or a typed :class:`RunflowError`."""

from __future__ import annotations

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


def _check_json(call: ApiCall[Any], response: httpx.Response) -> None:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        raise RunflowResponseError(call.method, call.path, response.status_code, f"content type {content_type!r}")


def api_error(call: ApiCall[Any], response: httpx.Response, body: bytes, now: float) -> RunflowAPIError:
    """Build the typed error for an error response from its envelope, tolerating any body."""
    try:
        envelope = ErrorResponse.model_validate_json(body)
    except ValidationError:
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
    _check_json(call, response)
    try:
        return call.parse(body)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] == "json_invalid":
            reason = f"malformed JSON: {first['msg']}"
        else:
            reason = f"body does not match the API schema ({err.error_count()} errors): {first['msg']}"
        raise RunflowResponseError(call.method, call.path, response.status_code, reason) from None
    except ValueError as err:  # json.loads, for the calls that keep the body as it is
        raise RunflowResponseError(call.method, call.path, response.status_code, f"malformed JSON: {err}") from None


def read_reply(call: ApiCall[T], reply: Reply) -> T:
    """The result of ``call`` from one attempt's reply, or the typed error it stands for."""
    if isinstance(reply, httpx.TransportError):
        raise transport_error(call, reply)
    response, body = reply
    return handle_response(call, response, body, time.time())
