"""The triggerer's aiohttp transport behaves like httpx's own: results, typed errors, what counts as sent."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator

import pytest

from airflow_provider_runflow.client import (
    AsyncRunflowClient,
    ClientConfig,
    RetryPolicy,
    RunflowTimeoutError,
    RunflowTransportError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.client.aiohttp_transport import AiohttpTransport, async_transport
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator

CREATE = "POST /v1/models/{owner}/{slug}/batches"
GET_BATCH = "GET /v1/batches/{id}"
FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02, jitter=0.0)


def config(emu: RunflowEmulator, **kwargs: object) -> ClientConfig:
    return ClientConfig(api_key=emu.api_key, base_url=emu.url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def client(runflow_emulator: RunflowEmulator) -> AsyncIterator[AsyncRunflowClient]:
    settings = config(runflow_emulator, retry=FAST, timeout=1.0)
    async with AsyncRunflowClient(settings, transport=AiohttpTransport()) as client:
        yield client


async def test_answers_parse_as_with_httpx_own_transport(
    runflow_emulator: RunflowEmulator, client: AsyncRunflowClient
) -> None:
    created = await client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}, {"text": "b"}]))
    )
    assert created.id
    async with AsyncRunflowClient(config(runflow_emulator)) as plain:
        expected = await plain.send(calls.get_batch(created.id))
    assert (await client.send(calls.get_batch(created.id))).model_dump(exclude={"items"}) == expected.model_dump(
        exclude={"items"}
    )


async def test_a_lost_response_to_an_idempotent_post_is_resent_and_replayed(
    runflow_emulator: RunflowEmulator, client: AsyncRunflowClient
) -> None:
    runflow_emulator.set_faults([FaultRule(route=CREATE, kind=FaultKind.LOSE_RESPONSE, times=1)])
    batch = await client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]), idempotency_key="k-1")
    )
    assert batch.id
    assert runflow_emulator.counters()["batches_created"] == 1


async def test_a_lost_response_to_a_post_without_key_counts_as_sent_and_is_not_resent(
    runflow_emulator: RunflowEmulator, client: AsyncRunflowClient
) -> None:
    runflow_emulator.set_faults([FaultRule(route=CREATE, kind=FaultKind.LOSE_RESPONSE, times=1)])
    with pytest.raises(RunflowTransportError) as raised:
        await client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}])))
    assert raised.value.request_sent is True
    assert runflow_emulator.counters()["batches_created"] == 1
    assert sum(runflow_emulator.counters()["requests"][CREATE].values()) == 1


async def test_a_slow_answer_is_a_typed_timeout(runflow_emulator: RunflowEmulator, client: AsyncRunflowClient) -> None:
    created = await client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}])))
    runflow_emulator.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.DELAY, delay=3.0)])
    with pytest.raises(RunflowTimeoutError):
        await client.send(calls.get_batch(created.id or ""))


async def test_a_refused_connection_was_never_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ClientConfig(api_key="rf_live_x", base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=1))
    async with AsyncRunflowClient(settings, transport=AiohttpTransport()) as client:
        with pytest.raises(RunflowTransportError) as raised:
            await client.send(calls.get_batch("b"))
    assert raised.value.request_sent is False


def test_tls_certificates_are_verified_by_default() -> None:
    context = AiohttpTransport()._ssl
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_a_configured_proxy_keeps_httpx_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ClientConfig(api_key="rf_live_x")
    assert isinstance(async_transport(settings), AiohttpTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert async_transport(settings) is None
