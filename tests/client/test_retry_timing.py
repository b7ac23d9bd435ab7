"""The retry policy against a real HTTP server on loopback, with real sleeps and measured time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from client_support import API_KEY, Reply, Runflow, make_config

from airflow_provider_runflow.client import RetryPolicy, RunflowAuthenticationError, RunflowServerError

BATCH = {"id": "b1", "status_code": "running"}
# Without Retry-After, the first backoff of this policy would be 5 s: a ≈1 s success can only come from the header.
SLOW_FALLBACK = RetryPolicy(max_attempts=3, initial_backoff=5, max_backoff=5, jitter=0)


def against(server: Any, client_kind: str, retry: RetryPolicy) -> Runflow:
    return Runflow(client_kind, make_config(base_url=server.base_url, retry=retry))


async def test_429_with_retry_after_1_succeeds_after_about_a_second(loopback: Any, client_kind: str) -> None:
    server = loopback([Reply(429, {"code": "RATE_LIMITED"}, {"Retry-After": "1"}), Reply(200, BATCH)])
    started = time.monotonic()

    batch = await against(server, client_kind, SLOW_FALLBACK).call("get_batch", "b1")

    elapsed = time.monotonic() - started
    assert batch.id == "b1"
    assert 0.9 <= elapsed < 3.0
    assert len(server.requests) == 2


async def test_401_fails_at_once_with_one_request(loopback: Any, client_kind: str) -> None:
    server = loopback([Reply(401, {"code": "UNAUTHORIZED", "message": "invalid API key"})])
    started = time.monotonic()

    with pytest.raises(RunflowAuthenticationError, match="HTTP 401 UNAUTHORIZED: invalid API key"):
        await against(server, client_kind, SLOW_FALLBACK).call("get_batch", "b1")

    assert time.monotonic() - started < 0.5
    assert len(server.requests) == 1
    method, path, headers = server.requests[0]
    assert (method, path, headers["Authorization"]) == ("GET", "/v1/batches/b1", f"Bearer {API_KEY}")


async def test_503_five_times_then_200_succeeds_within_six_attempts(loopback: Any, client_kind: str) -> None:
    server = loopback([Reply(503, {"code": "UNAVAILABLE"})] * 5 + [Reply(200, BATCH)])
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.01, max_backoff=0.05, jitter=0)
    started = time.monotonic()

    batch = await against(server, client_kind, policy).call("get_batch", "b1")

    assert batch.id == "b1"
    assert len(server.requests) == 6
    assert time.monotonic() - started < 2.0


async def test_503_five_times_fails_with_five_attempts(loopback: Any, client_kind: str) -> None:
    server = loopback([Reply(503, {"code": "UNAVAILABLE"})] * 5 + [Reply(200, BATCH)])
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05, jitter=0)

    with pytest.raises(RunflowServerError, match="HTTP 503 UNAVAILABLE"):
        await against(server, client_kind, policy).call("get_batch", "b1")

    assert len(server.requests) == 5


async def test_a_429_pauses_every_client_of_the_connection_in_the_process(loopback: Any, client_kind: str) -> None:
    """Two tasks (threads, each with its own client) on one connection: the second waits out the first's 429."""
    refused = Reply(429, {"code": "RATE_LIMITED"}, {"Retry-After": "1"})
    server = loopback([refused, Reply(200, BATCH), Reply(200, BATCH)])
    runflow = against(server, client_kind, SLOW_FALLBACK)

    def timed_call(delay: float) -> float:
        time.sleep(delay)
        started = time.monotonic()
        asyncio.run(runflow.call("get_batch", "b1"))
        return time.monotonic() - started

    first, second = await asyncio.gather(asyncio.to_thread(timed_call, 0), asyncio.to_thread(timed_call, 0.3))

    assert len(server.requests) == 3
    assert first >= 0.9
    assert second >= 0.5  # alone, it would have been answered at once


async def test_max_requests_per_second_spaces_the_requests_of_the_connection(loopback: Any, client_kind: str) -> None:
    server = loopback([Reply(200, BATCH)] * 5)
    runflow = Runflow(client_kind, make_config(base_url=server.base_url, max_requests_per_second=10))
    started = time.monotonic()

    for _ in range(5):
        await runflow.call("get_batch", "b1")

    assert time.monotonic() - started >= 0.35  # four gaps of 0.1 s at least
