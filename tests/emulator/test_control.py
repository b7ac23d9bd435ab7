"""The control API: request log, counters, reset and forced batch states, seen through the client."""

from __future__ import annotations

import httpx
from emulator_support import wait_terminal

from airflow_provider_runflow.client import RunflowClient, build_batch_request, calls
from airflow_provider_runflow.client.status import is_terminal
from airflow_provider_runflow.emulator import RunflowEmulator


def test_requests_log_redacts_the_api_key(emu: RunflowEmulator, client: RunflowClient) -> None:
    client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]), idempotency_key="k"))
    (entry,) = emu.requests_log()
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v1/models/acme/test-model/batches", "201")
    assert entry["headers"]["authorization"] == "REDACTED"
    assert entry["headers"]["idempotency-key"] == "k"
    assert emu.api_key not in str(entry)


def test_reset_forgets_batches_counters_and_faults(emu: RunflowEmulator, client: RunflowClient) -> None:
    from airflow_provider_runflow.emulator import FaultKind, FaultRule

    client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}, {"text": "c"}])))
    assert (emu.counters()["batches_created"], emu.counters()["items_created"]) == (1, 2)
    emu.set_faults([FaultRule(kind=FaultKind.UNAVAILABLE)])
    emu.reset()
    assert emu.counters() == {
        "batches_created": 0,
        "items_created": 0,
        "batches": 0,
        "callback_attempts": 0,
        "requests": {},
    }
    assert emu.requests_log() == []
    assert client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "b"}]))).id  # no fault left


def test_forced_statuses_reach_the_client(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a", "run_seconds": 50.0}]))
    ).id
    emu.force_batch_status(batch_id or "", "failed", "QUOTA", "GPU quota exhausted")
    failed = client.send(calls.get_batch(batch_id or ""))
    assert (failed.status_code, failed.failure_code, failed.failure_message) == (
        "failed",
        "QUOTA",
        "GPU quota exhausted",
    )
    assert failed.completed_at is not None
    emu.force_batch_status(batch_id or "", "canceled")
    assert client.send(calls.get_batch(batch_id or "")).status_code == "cancelled"
    emu.force_batch_status(batch_id or "", "paused_for_review")
    unknown = client.send(calls.get_batch(batch_id or ""))
    assert unknown.status_code == "paused_for_review"
    assert not is_terminal(unknown.status_code)


def test_counters_count_requests_by_route_template_and_status(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch = wait_terminal(
        client, client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]))).id or ""
    )
    client.send(calls.batch_items(batch.id or ""))
    requests = emu.counters()["requests"]
    assert requests["POST /v1/models/{owner}/{slug}/batches"] == {"201": 1}
    assert requests["GET /v1/batches/{batch_id}/items"] == {"200": 1}
    assert sum(requests["GET /v1/batches/{id}"].values()) >= 1


def test_control_index_lists_every_control_route(emu: RunflowEmulator) -> None:
    index = httpx.get(f"{emu.url}/_emulator/").raise_for_status().json()["routes"]
    assert [entry["route"] for entry in index] == [
        "GET /_emulator/",
        "GET /_emulator/counters",
        "GET /_emulator/requests",
        "GET /_emulator/faults",
        "PUT /_emulator/faults",
        "DELETE /_emulator/faults",
        "POST /_emulator/reset",
        "POST /_emulator/batches/{batch_id}/status",
    ]
    assert all(entry["does"] for entry in index)


def test_a_wrong_method_answers_405_naming_every_method_of_the_path(emu: RunflowEmulator) -> None:
    answer = httpx.post(f"{emu.url}/_emulator/faults")
    assert (answer.status_code, answer.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert answer.headers["allow"] == "DELETE, GET, HEAD, PUT"
