"""The one retry policy: what is resent, how long it waits, and when it gives up."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from airflow_provider_runflow.client import (
    RetryPolicy,
    RunflowAuthenticationError,
    RunflowBadRequestError,
    RunflowConflictError,
    RunflowError,
    RunflowNotFoundError,
    RunflowPermissionError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTransportError,
    RunflowValidationError,
    build_batch_request,
    calls,
    responses,
)
from airflow_provider_runflow.client.retry import is_retryable

REQUEST = build_batch_request([{"prompt": "a cat"}])
GET = calls.get_batch("b1")
POST_WITHOUT_KEY = calls.create_batch("acme/gen", REQUEST, None)
POST_WITH_KEY = calls.create_batch("acme/gen", REQUEST, "key-1")
CREATE_PATH = "/v1/models/acme/gen/batches"
CREATED = {"id": "b1", "status_code": "queued"}


def api_error(error_class: type[Any], status: int) -> RunflowError:
    return error_class("GET", "/v1/batches/b1", status)  # type: ignore[no-any-return]


def transport(raised: httpx.TransportError) -> RunflowTransportError:
    return responses.transport_error(GET, raised)


RATE_LIMITED = api_error(RunflowRateLimitError, 429)
UNAVAILABLE = api_error(RunflowServerError, 503)
READ_ERROR = transport(httpx.ReadError("reset"))
READ_TIMEOUT = transport(httpx.ReadTimeout("slow"))
CONNECT_ERROR = transport(httpx.ConnectError("refused"))
CONNECT_TIMEOUT = transport(httpx.ConnectTimeout("unreachable"))
MALFORMED = RunflowResponseError("GET", "/v1/batches/b1", 200, "malformed JSON")


@pytest.mark.parametrize(
    ("error", "get", "post_without_key", "post_with_key"),
    [
        (RATE_LIMITED, True, True, True),
        (UNAVAILABLE, True, False, True),
        (api_error(RunflowServerError, 500), True, False, True),
        (READ_ERROR, True, False, True),
        (READ_TIMEOUT, True, False, True),
        (MALFORMED, True, False, True),
        (RunflowResponseError("GET", "/v1/batches/b1", 302, "unexpected status"), False, False, False),
        (CONNECT_ERROR, True, True, True),
        (CONNECT_TIMEOUT, True, True, True),
        (api_error(RunflowBadRequestError, 400), False, False, False),
        (api_error(RunflowAuthenticationError, 401), False, False, False),
        (api_error(RunflowPermissionError, 403), False, False, False),
        (api_error(RunflowNotFoundError, 404), False, False, False),
        (api_error(RunflowConflictError, 409), False, False, False),
        (api_error(RunflowValidationError, 422), False, False, False),
        (ValueError("a bug, not a transient failure"), False, False, False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_is_retryable(error: BaseException, get: bool, post_without_key: bool, post_with_key: bool) -> None:
    assert is_retryable(error, GET) is get
    assert is_retryable(error, POST_WITHOUT_KEY) is post_without_key
    assert is_retryable(error, POST_WITH_KEY) is post_with_key


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a client asks for, given to it as its sleep: recorded instead of slept."""
    return []


async def test_post_without_idempotency_key_is_not_resent_after_503(runflow: Any, api: Any) -> None:
    route = api.post(CREATE_PATH).mock(side_effect=[httpx.Response(503), httpx.Response(201, json=CREATED)])

    with pytest.raises(RunflowServerError):
        await runflow().call("create_batch", "acme/gen", REQUEST)

    assert route.call_count == 1


async def test_post_without_idempotency_key_is_not_resent_after_a_read_error(runflow: Any, api: Any) -> None:
    route = api.post(CREATE_PATH).mock(side_effect=[httpx.ReadError("reset"), httpx.Response(201, json=CREATED)])

    with pytest.raises(RunflowTransportError):
        await runflow().call("create_batch", "acme/gen", REQUEST)

    assert route.call_count == 1


async def test_post_without_idempotency_key_is_resent_after_429(runflow: Any, api: Any) -> None:
    route = api.post(CREATE_PATH).mock(side_effect=[httpx.Response(429), httpx.Response(201, json=CREATED)])

    batch = await runflow().call("create_batch", "acme/gen", REQUEST)

    assert batch.id == "b1"
    assert route.call_count == 2


async def test_post_without_idempotency_key_is_resent_when_the_connection_failed(runflow: Any, api: Any) -> None:
    route = api.post(CREATE_PATH).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=CREATED)])

    batch = await runflow().call("create_batch", "acme/gen", REQUEST)

    assert batch.id == "b1"
    assert route.call_count == 2


async def test_post_with_idempotency_key_is_resent_with_the_same_key(runflow: Any, api: Any) -> None:
    route = api.post(CREATE_PATH).mock(
        side_effect=[httpx.Response(503), httpx.ReadError("reset"), httpx.Response(201, json=CREATED)]
    )

    batch = await runflow().call("create_batch", "acme/gen", REQUEST, idempotency_key="key-1")

    assert batch.id == "b1"
    assert [call.request.headers["Idempotency-Key"] for call in route.calls] == ["key-1"] * 3
    assert len({call.request.content for call in route.calls}) == 1


async def test_get_is_retried_after_503(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=CREATED)])

    assert (await runflow().call("get_batch", "b1")).id == "b1"
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_client_errors_are_not_retried(runflow: Any, api: Any, status: int) -> None:
    route = api.get("/v1/batches/b1").respond(status, json={"code": "NOPE"})

    with pytest.raises(RunflowError):
        await runflow().call("get_batch", "b1")

    assert route.call_count == 1


async def test_attempts_are_bounded_by_max_attempts(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").respond(503, json={"code": "UNAVAILABLE"})
    policy = RetryPolicy(max_attempts=4, initial_backoff=0, max_backoff=0, jitter=0)

    with pytest.raises(RunflowServerError, match="HTTP 503 UNAVAILABLE"):
        await runflow(retry=policy).call("get_batch", "b1")

    assert route.call_count == 4


async def test_retries_stop_when_max_elapsed_has_passed(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").respond(503)
    policy = RetryPolicy(max_attempts=1000, max_elapsed=0.3, initial_backoff=0.05, max_backoff=0.05, jitter=0)
    started = time.monotonic()

    with pytest.raises(RunflowServerError):
        await runflow(retry=policy).call("get_batch", "b1")

    assert time.monotonic() - started < 1.0
    assert 2 <= route.call_count <= 8


async def test_the_elapsed_limit_counts_the_first_attempt(runflow: Any, api: Any) -> None:
    """The retry controller is built only after a first failure; the time limit still starts before it."""

    def slow_failure(request: httpx.Request) -> httpx.Response:
        time.sleep(0.4)
        return httpx.Response(503)

    route = api.get("/v1/batches/b1").mock(side_effect=slow_failure)
    policy = RetryPolicy(max_attempts=5, max_elapsed=0.3, initial_backoff=0.01, max_backoff=0.01, jitter=0)

    with pytest.raises(RunflowServerError):
        await runflow(retry=policy).call("get_batch", "b1")

    assert route.call_count == 1


async def test_retry_after_in_seconds_is_honoured(runflow: Any, api: Any, sleeps: list[float]) -> None:
    api.get("/v1/batches/b1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=CREATED)]
    )

    await runflow(sleeps=sleeps).call("get_batch", "b1")

    assert sleeps == [7.0]


async def test_retry_after_as_an_http_date_is_honoured(runflow: Any, api: Any, sleeps: list[float]) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    api.get("/v1/batches/b1").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200, json=CREATED),
        ]
    )

    await runflow(sleeps=sleeps).call("get_batch", "b1")

    assert len(sleeps) == 1
    assert 28 <= sleeps[0] <= 30


async def test_retry_after_is_capped_by_max_retry_after(runflow: Any, api: Any, sleeps: list[float]) -> None:
    api.get("/v1/batches/b1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json=CREATED)]
    )

    await runflow(sleeps=sleeps, retry=RetryPolicy(max_retry_after=5)).call("get_batch", "b1")

    assert sleeps == [5.0]


async def test_without_retry_after_backoff_is_exponential(runflow: Any, api: Any, sleeps: list[float]) -> None:
    api.get("/v1/batches/b1").mock(side_effect=[httpx.Response(503)] * 3 + [httpx.Response(200, json=CREATED)])
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=1.5, jitter=0)

    await runflow(sleeps=sleeps, retry=policy).call("get_batch", "b1")

    assert sleeps == [0.5, 1.0, 1.5]


async def test_jitter_adds_at_most_its_bound(runflow: Any, api: Any, sleeps: list[float]) -> None:
    api.get("/v1/batches/b1").mock(side_effect=[httpx.Response(503)] * 4 + [httpx.Response(200, json=CREATED)])
    policy = RetryPolicy(initial_backoff=1, max_backoff=1, jitter=0.25)

    await runflow(sleeps=sleeps, retry=policy).call("get_batch", "b1")

    assert len(sleeps) == 4
    assert all(1 <= s <= 1.25 for s in sleeps)


async def test_the_last_error_is_raised_when_retries_run_out(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(401, json={"code": "UNAUTHORIZED"})]
    )

    with pytest.raises(RunflowAuthenticationError):
        await runflow().call("get_batch", "b1")


async def test_a_redirect_is_not_retried(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").respond(307, headers={"Location": "https://api.runflow.test/v2/batches/b1"})

    with pytest.raises(RunflowResponseError, match="HTTP 307"):
        await runflow().call("get_batch", "b1")

    assert route.call_count == 1


async def test_a_429_pauses_the_next_call_of_the_connection_too(runflow: Any, api: Any, sleeps: list[float]) -> None:
    api.get("/v1/batches/b1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"})] + [httpx.Response(200, json=CREATED)] * 2
    )
    connection = runflow(sleeps=sleeps)

    await connection.call("get_batch", "b1")
    await connection.call("get_batch", "b1")  # another client of the connection, before the 7 s are over

    assert sleeps[0] == 7.0
    assert len(sleeps) == 2
    assert 6 < sleeps[1] <= 7


async def test_max_requests_per_second_is_waited_with_the_clients_sleep(
    runflow: Any, api: Any, sleeps: list[float]
) -> None:
    api.get("/v1/batches/b1").respond(200, json=CREATED)
    connection = runflow(sleeps=sleeps, max_requests_per_second=2)

    await connection.call("get_batch", "b1")
    await connection.call("get_batch", "b1")

    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 0.5
