"""Each error answer becomes its own exception class, with a message that names what failed, never the key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from client_support import API_KEY, BASE_URL, make_config

from airflow_provider_runflow.client import (
    ClientConfig,
    RetryPolicy,
    RunflowAPIError,
    RunflowAuthenticationError,
    RunflowBadRequestError,
    RunflowConflictError,
    RunflowError,
    RunflowInsufficientCreditError,
    RunflowNotFoundError,
    RunflowPermissionError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTimeoutError,
    RunflowTransportError,
    RunflowValidationError,
    build_batch_request,
)

NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "BAD_REQUEST", RunflowBadRequestError),
        (401, "UNAUTHORIZED", RunflowAuthenticationError),
        (402, "INSUFFICIENT_CREDIT", RunflowInsufficientCreditError),
        (403, "PERMISSION_DENIED", RunflowPermissionError),
        (404, "NOT_FOUND", RunflowNotFoundError),
        (409, "CONFLICT", RunflowConflictError),
        (422, "VALIDATION_ERROR", RunflowValidationError),
        (429, "RATE_LIMITED", RunflowRateLimitError),
        (500, "INTERNAL", RunflowServerError),
        (502, None, RunflowServerError),
        (503, "UNAVAILABLE", RunflowServerError),
        (504, None, RunflowServerError),
        (418, "TEAPOT", RunflowAPIError),
    ],
)
async def test_each_error_status_raises_its_class_naming_the_request(
    runflow: Any, api: Any, status: int, code: str | None, error_class: type[RunflowAPIError]
) -> None:
    api.get("/v1/batches/b1").respond(status, json={"code": code, "message": "Runflow says no", "errors": None})

    with pytest.raises(error_class) as caught:
        await runflow(retry=NO_RETRY).call("get_batch", "b1")

    error = caught.value
    assert type(error) is error_class
    assert (error.status, error.code, error.message) == (status, code, "Runflow says no")
    assert str(error).startswith(f"GET /v1/batches/b1 -> HTTP {status}")
    assert "Runflow says no" in str(error)
    if code:
        assert code in str(error)


async def test_permission_error_carries_runflows_code(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").respond(403, json={"code": "EMAIL_NOT_VERIFIED", "message": "verify your email"})

    with pytest.raises(RunflowPermissionError, match="HTTP 403 EMAIL_NOT_VERIFIED: verify your email") as caught:
        await runflow().call("get_batch", "b1")

    assert caught.value.code == "EMAIL_NOT_VERIFIED"


async def test_validation_error_carries_per_item_errors(runflow: Any, api: Any) -> None:
    errors = [{"index": 1, "field": "prompt", "message": "required"}, {"index": 4, "field": "seed", "message": "int"}]
    api.post("/v1/models/acme/gen/batches").respond(
        422, json={"code": "VALIDATION_ERROR", "message": "2 items invalid", "errors": errors}
    )
    with pytest.raises(RunflowValidationError) as caught:
        await runflow().call("create_batch", "acme/gen", build_batch_request([{"a": 1}] * 5))

    assert caught.value.errors == errors
    assert "POST /v1/models/acme/gen/batches -> HTTP 422 VALIDATION_ERROR" in str(caught.value)
    assert "'field': 'prompt'" in str(caught.value)


async def test_request_id_is_quoted_for_support(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").respond(404, json={"code": "NOT_FOUND"}, headers={"Runflow-Request-Id": "req_42"})

    with pytest.raises(RunflowNotFoundError, match=r"\[request id req_42\]"):
        await runflow().call("get_batch", "b1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"}),
        httpx.Response(500, content=b""),
        httpx.Response(500, json=["unexpected"]),
    ],
    ids=["html", "empty", "not-an-envelope"],
)
async def test_error_without_an_envelope_is_still_typed(runflow: Any, api: Any, response: httpx.Response) -> None:
    api.get("/v1/batches/b1").mock(return_value=response)

    with pytest.raises(RunflowServerError, match=r"GET /v1/batches/b1 -> HTTP 500"):
        await runflow(retry=NO_RETRY).call("get_batch", "b1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"}),
        httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"id": "b1"}'),
    ],
    ids=["malformed-json", "html", "no-content-type"],
)
async def test_unexpected_success_body_is_a_response_error(runflow: Any, api: Any, response: httpx.Response) -> None:
    api.get("/v1/batches/b1").mock(return_value=response)

    with pytest.raises(RunflowResponseError, match=r"GET /v1/batches/b1 -> HTTP 200: unexpected response"):
        await runflow(retry=NO_RETRY).call("get_batch", "b1")


@pytest.mark.parametrize(
    ("raised", "error_class"),
    [
        (httpx.ConnectError("connection refused"), RunflowTransportError),
        (httpx.ReadError("connection reset"), RunflowTransportError),
        (httpx.RemoteProtocolError("server disconnected"), RunflowTransportError),
        (httpx.ConnectTimeout("connect timed out"), RunflowTimeoutError),
        (httpx.ReadTimeout("read timed out"), RunflowTimeoutError),
    ],
)
async def test_transport_failures_are_typed(
    runflow: Any, api: Any, raised: Exception, error_class: type[RunflowError]
) -> None:
    api.get("/v1/batches/b1").mock(side_effect=raised)

    with pytest.raises(error_class, match=r"^GET /v1/batches/b1 failed: ") as caught:
        await runflow(retry=NO_RETRY).call("get_batch", "b1")

    assert type(caught.value) is error_class


async def test_redirect_is_not_followed_and_the_key_stays_home(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").respond(302, headers={"Location": "https://elsewhere.example/steal"})
    elsewhere = api.route(host="elsewhere.example").respond(200, json={"id": "b1"})

    with pytest.raises(RunflowResponseError, match="HTTP 302"):
        await runflow(retry=NO_RETRY).call("get_batch", "b1")

    assert elsewhere.call_count == 0
    assert all(call.request.url.host == "api.runflow.test" for call in api.calls)


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 401, "json": {"code": "UNAUTHORIZED", "message": "bad key"}},
        {"status_code": 500, "json": {"code": "INTERNAL", "message": "boom"}},
        {"status_code": 200, "content": b"{oops", "headers": {"content-type": "application/json"}},
        {"side_effect": httpx.ConnectError("connection refused")},
        {"side_effect": httpx.ReadTimeout("timed out")},
    ],
    ids=["api-error", "server-error", "response-error", "transport-error", "timeout"],
)
async def test_api_key_never_appears_in_an_exception(runflow: Any, api: Any, answer: dict[str, Any]) -> None:
    route = api.get("/v1/batches/b1")
    if "side_effect" in answer:
        route.mock(side_effect=answer["side_effect"])
    else:
        route.respond(**answer)

    with pytest.raises(RunflowError) as caught:
        await runflow(retry=NO_RETRY).call("get_batch", "b1")

    error = caught.value
    assert api.calls.last.request.headers["Authorization"] == f"Bearer {API_KEY}"
    for text in (str(error), repr(error), repr(vars(error)), str(error.args)):
        assert API_KEY not in text


def test_api_key_is_not_in_the_config_repr() -> None:
    config = make_config()

    assert API_KEY not in repr(config)
    assert API_KEY not in str(config)
    assert BASE_URL in repr(config)


def test_config_requires_a_key_and_refuses_to_disable_tls() -> None:
    with pytest.raises(ValueError, match="API key is required"):
        ClientConfig(api_key="")
    with pytest.raises(ValueError, match="TLS verification cannot be disabled"):
        ClientConfig(api_key=API_KEY, verify=False)
