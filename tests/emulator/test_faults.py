"""Fault injection over real HTTP, and whether the client's retry policy recovers where it should."""

from __future__ import annotations

import contextlib
import time
from collections import Counter

import httpx
import pytest
from emulator_support import NO_RETRY, make_client

from airflow_provider_runflow.client import (
    ItemsQuery,
    RunflowClient,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTimeoutError,
    RunflowTransportError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator

GET_BATCH, LIST_ITEMS = "GET /v1/batches/{id}", "GET /v1/batches/{batch_id}/items"
CREATE = "POST /v1/models/{owner}/{slug}/batches"


def _batch(client: RunflowClient) -> str:
    return client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]))).id or ""


@pytest.mark.parametrize(
    ("kind", "error", "status"),
    [
        (FaultKind.SERVER_ERROR, RunflowServerError, "500"),
        (FaultKind.BAD_GATEWAY, RunflowServerError, "502"),
        (FaultKind.UNAVAILABLE, RunflowServerError, "503"),
        (FaultKind.RATE_LIMIT_NO_RETRY_AFTER, RunflowRateLimitError, "429"),
        (FaultKind.MALFORMED_JSON, RunflowResponseError, "200"),
        (FaultKind.DROP_CONNECTION, RunflowTransportError, "dropped"),
    ],
)
def test_each_fault_fails_one_attempt_and_retry_recovers(
    emu: RunflowEmulator, client: RunflowClient, kind: FaultKind, error: type[Exception], status: str
) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=GET_BATCH, sequence=(kind,))])
    with make_client(emu, retry=NO_RETRY) as once, pytest.raises(error):
        once.send(calls.get_batch(batch_id))
    emu.set_faults([FaultRule(route=GET_BATCH, sequence=(kind, kind))])
    assert client.send(calls.get_batch(batch_id)).id == batch_id
    assert emu.counters()["requests"][GET_BATCH] == dict(Counter({status: 3}) + Counter({"200": 1}))


def test_rate_limit_carries_retry_after(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.RATE_LIMIT, retry_after=7, times=1)])
    with make_client(emu, retry=NO_RETRY) as once, pytest.raises(RunflowRateLimitError) as caught:
        once.send(calls.get_batch(batch_id))
    assert caught.value.retry_after == 7.0
    assert caught.value.code == "RATE_LIMITED"
    assert client.send(calls.get_batch(batch_id)).id == batch_id


def test_dropped_connection_is_a_transport_error_for_httpx(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.DROP_CONNECTION)])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{emu.url}/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {emu.api_key}"})


def test_delay_outlasts_a_short_client_timeout(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.DELAY, delay=0.5, times=1)])
    with make_client(emu, retry=NO_RETRY, timeout=0.1) as impatient, pytest.raises(RunflowTimeoutError):
        impatient.send(calls.get_batch(batch_id))
    emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.DELAY, delay=0.2, times=1)])
    started = time.monotonic()
    assert client.send(calls.get_batch(batch_id)).id == batch_id
    assert time.monotonic() - started >= 0.2


def test_truncated_items_page_is_detected_and_retried(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=LIST_ITEMS, sequence=(FaultKind.TRUNCATED_PAGE,))])
    with make_client(emu, retry=NO_RETRY) as once, pytest.raises(RunflowResponseError, match="malformed JSON"):
        once.send(calls.list_batch_items(batch_id, ItemsQuery()))
    emu.set_faults([FaultRule(route=LIST_ITEMS, sequence=(FaultKind.TRUNCATED_PAGE,))])
    assert len(client.send(calls.list_batch_items(batch_id)).items) == 1


def test_lost_create_response_is_recovered_by_idempotent_replay(emu: RunflowEmulator, client: RunflowClient) -> None:
    emu.set_faults([FaultRule(route=CREATE, sequence=(FaultKind.LOSE_RESPONSE,))])
    batch = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]), idempotency_key="lost-1")
    )
    counters = emu.counters()
    assert counters["batches_created"] == 1
    assert counters["requests"][CREATE] == {"dropped": 1, "201": 1}
    assert client.send(calls.get_batch(batch.id or "")).id == batch.id


def test_lost_create_response_without_key_is_not_retried(emu: RunflowEmulator, client: RunflowClient) -> None:
    emu.set_faults([FaultRule(route=CREATE, sequence=(FaultKind.LOSE_RESPONSE,))])
    with pytest.raises(RunflowTransportError):
        client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}])))
    assert emu.counters()["batches_created"] == 1


def test_probabilistic_faults_are_deterministic_for_a_seed(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)

    def pattern() -> list[int]:
        emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.UNAVAILABLE, probability=0.3)])
        with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            return [http.get(f"/v1/batches/{batch_id}").status_code for _ in range(40)]

    first = pattern()
    assert first == pattern()
    assert 4 <= first.count(503) <= 20
    assert first.count(200) == 40 - first.count(503)


def test_wildcard_rule_with_times_and_clear(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(kind=FaultKind.UNAVAILABLE, times=2)])
    with make_client(emu, retry=NO_RETRY) as once:
        for _ in range(2):
            with pytest.raises(RunflowServerError):
                once.send(calls.list_batch_items(batch_id))
        assert once.send(calls.get_batch(batch_id)).id == batch_id
        emu.set_faults([FaultRule(kind=FaultKind.UNAVAILABLE)])
        emu.clear_faults()
        assert once.send(calls.get_batch(batch_id)).id == batch_id


def test_faults_given_at_start_apply_from_the_first_request() -> None:
    rule = FaultRule(route=GET_BATCH, kind=FaultKind.SERVER_ERROR, times=1)
    with RunflowEmulator(time_scale=0.02, faults=[rule]) as emulator, make_client(emulator, retry=NO_RETRY) as once:
        batch_id = _batch(once)
        with pytest.raises(RunflowServerError):
            once.send(calls.get_batch(batch_id))
        assert once.send(calls.get_batch(batch_id)).id == batch_id


def test_latency_delays_every_runflow_response() -> None:
    with RunflowEmulator(latency=0.15) as emulator, make_client(emulator) as slow:
        started = time.monotonic()
        _batch(slow)
        assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(
    "rule",
    [
        {"route": "GET /v1/nope"},
        {"kind": "teapot"},
        {"kind": "unavailable", "probability": 1.5},
        {"kind": "unavailable", "sequence": ["unavailable"]},
        {},
    ],
)
def test_invalid_fault_rules_are_refused(rule: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        FaultRule.from_json(rule)


def test_fault_rules_round_trip_through_json() -> None:
    rule = FaultRule(route=CREATE, sequence=(FaultKind.LOSE_RESPONSE, FaultKind.NONE), retry_after=3)
    assert FaultRule.from_json(rule.to_json()) == rule


def test_a_per_second_rule_is_a_rate_limit(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = _batch(client)
    emu.set_faults([FaultRule(route=GET_BATCH, kind=FaultKind.RATE_LIMIT, per_second=10)])
    with make_client(emu, retry=NO_RETRY) as once:
        for _ in range(30):  # well within a second or two: at most 10 served in each
            with contextlib.suppress(RunflowRateLimitError):
                once.send(calls.get_batch(batch_id))
    counts = emu.counters()["requests"][GET_BATCH]
    assert counts["200"] + counts["429"] == 30
    assert 10 <= counts["200"] <= 20


def test_per_second_needs_a_kind_and_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="per_second"):
        FaultRule(route=GET_BATCH, kind=FaultKind.RATE_LIMIT, per_second=0)
