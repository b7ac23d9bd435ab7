"""Idempotency-Key replay and conflicts, API keys, organisations and admin run cancellation."""

from __future__ import annotations

import json
import time

import pytest
from emulator_support import NO_RETRY, OTHER_KEY, SHARED_KEY, make_client, raw_create, wait_terminal

from airflow_provider_runflow.client import (
    RunflowAuthenticationError,
    RunflowClient,
    RunflowConflictError,
    RunflowNotFoundError,
    RunflowPermissionError,
    RunflowValidationError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.emulator import RunflowEmulator

CREATE = "POST /v1/models/{owner}/{slug}/batches"


def test_same_key_and_body_replays_the_first_batch(emu: RunflowEmulator, client: RunflowClient) -> None:
    request = build_batch_request([{"text": "once"}], metadata={"run": 1})
    first = client.send(calls.create_batch("acme/test-model", request, idempotency_key="key-1"))
    second = client.send(calls.create_batch("acme/test-model", request, idempotency_key="key-1"))
    assert second.id == first.id
    assert second.items == first.items
    counters = emu.counters()
    assert counters["batches_created"] == 1
    assert counters["requests"][CREATE] == {"201": 2}


def test_same_key_with_another_body_conflicts(emu: RunflowEmulator, client: RunflowClient) -> None:
    client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]), idempotency_key="key-2"))
    with pytest.raises(RunflowConflictError) as caught:
        client.send(
            calls.create_batch("acme/test-model", build_batch_request([{"text": "b"}]), idempotency_key="key-2")
        )
    assert caught.value.code == "CONFLICT"
    with pytest.raises(RunflowConflictError):
        client.send(calls.create_batch("acme/image-gen", build_batch_request([{"text": "a"}]), idempotency_key="key-2"))
    assert emu.counters()["batches_created"] == 1


def test_without_a_key_every_post_creates_a_batch(emu: RunflowEmulator, client: RunflowClient) -> None:
    request = build_batch_request([{"text": "a"}])
    ids = {client.send(calls.create_batch("acme/test-model", request)).id for _ in range(3)}
    assert len(ids) == 3
    assert emu.counters()["batches_created"] == 3


def test_idempotency_keys_are_scoped_per_organization(emu: RunflowEmulator, client: RunflowClient) -> None:
    request = build_batch_request([{"text": "a"}])
    mine = client.send(calls.create_batch("acme/test-model", request, idempotency_key="shared"))
    with make_client(emu, api_key=OTHER_KEY) as other:
        theirs = other.send(calls.create_batch("acme/test-model", request, idempotency_key="shared"))
    assert mine.id != theirs.id
    assert emu.counters()["batches_created"] == 2


def test_rejected_request_is_not_cached_for_its_key(client: RunflowClient) -> None:
    with pytest.raises(RunflowValidationError):
        client.send(raw_create("acme/test-model", {"input": [{}]}, idempotency_key="retry-me"))
    created = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]), idempotency_key="retry-me")
    )
    assert created.status_code == "queued"


@pytest.mark.parametrize("api_key", ["rf_live_wrong", "rf_svc_not_configured"])
def test_unknown_key_is_unauthorized(emu: RunflowEmulator, api_key: str) -> None:
    with make_client(emu, api_key=api_key) as runflow, pytest.raises(RunflowAuthenticationError) as caught:
        runflow.send(calls.get_batch("3c90c3cc-0d44-4b50-8888-8dd25736052a"))
    assert (caught.value.code, caught.value.errors) == ("UNAUTHORIZED", [])


def test_missing_authorization_gets_the_error_envelope(emu: RunflowEmulator) -> None:
    import httpx

    response = httpx.get(f"{emu.url}/v1/batches/3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert response.status_code == 401
    assert response.json() == {"code": "UNAUTHORIZED", "message": "missing or invalid API key", "errors": None}


def test_another_organizations_batch_is_not_found(emu: RunflowEmulator, client: RunflowClient) -> None:
    batch_id = client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]))).id or ""
    with make_client(emu, api_key=OTHER_KEY) as other, pytest.raises(RunflowNotFoundError):
        other.send(calls.get_batch(batch_id))
    with make_client(emu, api_key=OTHER_KEY) as other, pytest.raises(RunflowNotFoundError):
        other.send(calls.list_batch_items(batch_id))


def test_organization_header_selects_one_of_the_keys_organizations(emu: RunflowEmulator, client: RunflowClient) -> None:
    acme = emu.organization_id()
    batch_id = client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]))).id or ""
    with make_client(emu, api_key=SHARED_KEY) as shared_default, pytest.raises(RunflowNotFoundError):
        shared_default.send(calls.get_batch(batch_id))
    with make_client(emu, api_key=SHARED_KEY, organization_id=acme) as shared_as_acme:
        assert shared_as_acme.send(calls.get_batch(batch_id)).org_id == acme
    intruder = make_client(emu, organization_id=emu.organization_id(OTHER_KEY))
    with intruder, pytest.raises(RunflowPermissionError) as caught:
        intruder.send(calls.get_batch(batch_id))
    assert caught.value.code == "ORGANIZATION_MEMBERSHIP_REQUIRED"


def test_service_key_cancels_a_running_run(emu: RunflowEmulator, client: RunflowClient) -> None:
    request = build_batch_request([{"text": "long", "run_seconds": 50.0}, {"text": "quick", "run_seconds": 0.0}])
    created = client.send(calls.create_batch("acme/test-model", request))
    handles = created.items or []
    with make_client(emu, api_key=emu.service_key) as admin:
        answer = admin.send(calls.cancel_run(handles[0].run_id or "", "no longer needed"))
        time.sleep(0.01)
        already = admin.send(calls.cancel_run(handles[1].run_id or "", "too late for this one"))
    assert (answer["status_code"], answer["cancelled"]) == ("cancelled", True)
    assert (already["status_code"], already["cancelled"]) == ("succeeded", False)
    done = wait_terminal(client, created.id or "")
    assert (done.status_code, done.items_succeeded, done.items_cancelled) == ("partial_succeeded", 1, 1)
    cancelled = next(row for row in client.send(calls.batch_items(created.id or "")) if row.sequence_index == 0)
    assert cancelled.status_code == "cancelled"
    assert cancelled.error == {"code": "CANCELLED", "message": "no longer needed"}
    assert emu.counters()["requests"]["POST /v1/admin/runs/{run_id}/cancellation"] == {"201": 1, "200": 1}


def test_run_cancellation_needs_a_service_key_and_a_reason(emu: RunflowEmulator, client: RunflowClient) -> None:
    created = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a", "run_seconds": 50.0}]))
    )
    run_id = (created.items or [])[0].run_id or ""
    with pytest.raises(RunflowPermissionError):
        client.send(calls.cancel_run(run_id, "not allowed"))
    with make_client(emu, api_key=emu.service_key, retry=NO_RETRY) as admin:
        from airflow_provider_runflow.client.calls import ApiCall

        with pytest.raises(RunflowValidationError):
            admin.send(
                ApiCall(
                    "POST", f"/v1/admin/runs/{run_id}/cancellation", json.loads, body=calls.json_body({"reason": "no"})
                )
            )
        with pytest.raises(RunflowNotFoundError):
            admin.send(calls.cancel_run("3c90c3cc-0d44-4b50-8888-8dd25736052a", "unknown run"))
    assert client.send(calls.get_batch(created.id or "")).items_cancelled == 0
