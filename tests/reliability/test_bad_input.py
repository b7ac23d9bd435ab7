"""Inputs and answers Runflow refuses fail clearly, naming the item, field or Runflow ``code``.

Locally invalid input (empty, not a list, non-object items, non-JSON values, long client_ref,
bad callback_url, bad metadata, malformed model) is pinned by
``tests/operators/test_operator_validation.py``: nothing is sent. Here: what only Runflow can
refuse, each through the operator (or the trigger) against the emulator or a loopback server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk.exceptions import TaskDeferred
from reliability_support import CREATE, Answer, TaskInstanceStub, client_of, connection_json, loopback

from airflow_provider_runflow.client import RunflowConflictError, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger


def texts(n: int) -> list[dict[str, Any]]:
    return [{"text": f"item-{i}", "run_seconds": 0.05} for i in range(n)]


def submit(model: str = "acme/test-model", inputs: list[dict[str, Any]] | None = None) -> str:
    """Run one try of the operator; return the message it fails with."""
    operator = RunflowBatchOperator(task_id="run", model=model, inputs=inputs or texts(3), poll_interval=0.1)
    with pytest.raises(AirflowException) as failed:
        operator.execute({"ti": TaskInstanceStub()})  # type: ignore[arg-type]
    return str(failed.value)


def test_an_unknown_model_fails_naming_runflows_code_and_creates_nothing(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    message = submit(model="acme/no-such-model")

    figures(lost=0, duplicates=0, checked="404 NOT_FOUND named, 0 batches")
    assert "HTTP 404 NOT_FOUND" in message
    assert "acme/no-such-model" in message
    assert runflow_connection.counters()["batches_created"] == 0


def test_a_model_without_batch_support_fails_naming_runflows_code(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    message = submit(model="acme/single-only", inputs=[{"prompt": "a cat"}])

    figures(lost=0, duplicates=0, checked="422 MODEL_NOT_BATCH_CAPABLE named, 0 batches")
    assert "HTTP 422 MODEL_NOT_BATCH_CAPABLE" in message
    assert runflow_connection.counters()["batches_created"] == 0


def test_an_item_runflow_rejects_is_named_by_its_index_in_the_callers_inputs(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    """Runflow numbers a 422's items within their batch (50); the task names the caller's input[150]."""
    inputs = texts(250)
    inputs[150] = {"prompt": "no text"}

    message = submit(inputs=inputs)

    figures(lost=0, duplicates=0, checked="422 per item: 'input[150].text: is required', batch 2's span named")
    assert "Creating batch 2 of 3 (input[100] to input[199]) failed" in message
    assert "VALIDATION_ERROR" in message
    assert "Rejected inputs: input[150].text: is required." in message
    assert "Batches created so far (a retry re-attaches to them)" in message
    assert runflow_connection.counters()["batches_created"] == 1


def test_a_rejected_key_fails_at_once_with_one_request(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, figures: Any
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", connection_json(runflow_connection, api_key="rf_live_revoked"))

    message = submit()

    figures(lost=0, duplicates=0, checked="401 UNAUTHORIZED named, 1 request, key not in the message")
    assert "HTTP 401 UNAUTHORIZED" in message
    assert "rf_live_revoked" not in message
    assert runflow_connection.counters()["requests"] == {CREATE: {"401": 1}}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (402, "INSUFFICIENT_CREDIT"),
        (403, "PERMISSION_DENIED"),
        (403, "EMAIL_NOT_VERIFIED"),
        (403, "ORGANIZATION_MEMBERSHIP_REQUIRED"),
        (403, "ROLE_UNRESOLVED"),
        (403, "IMPERSONATION_READ_ONLY"),
    ],
)
def test_a_refusal_the_emulator_cannot_give_names_runflows_code_and_is_not_resent(
    monkeypatch: pytest.MonkeyPatch, figures: Any, status: int, code: str
) -> None:
    with loopback() as runflow:
        runflow.json(status, {"code": code, "message": "refused", "errors": None})
        monkeypatch.setenv(
            "AIRFLOW_CONN_RUNFLOW_DEFAULT",
            json.dumps({"conn_type": "runflow", "host": runflow.url, "password": "rf_live_x"}),
        )
        message = submit()

    figures(lost=0, duplicates=0, checked=f"{status} {code} named, 1 request")
    assert f"HTTP {status} {code}: refused" in message
    assert len(runflow.requests) == 1


def test_a_413_from_a_proxy_surfaces_as_a_typed_error_and_is_not_resent(
    monkeypatch: pytest.MonkeyPatch, figures: Any
) -> None:
    with loopback() as runflow:
        runflow.answer = Answer(413, b"<html><h1>413 Request Entity Too Large</h1></html>", "text/html")
        monkeypatch.setenv(
            "AIRFLOW_CONN_RUNFLOW_DEFAULT",
            json.dumps({"conn_type": "runflow", "host": runflow.url, "password": "rf_live_x"}),
        )
        message = submit(inputs=[{"text": "x" * 5_000_000}])

    figures(lost=0, duplicates=0, checked="413 HTML from a proxy: typed, status and body named, 1 request")
    assert "HTTP 413: <html><h1>413 Request Entity Too Large" in message
    assert len(runflow.requests) == 1


def test_a_5_mb_item_is_accepted_and_its_output_comes_back_whole(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    with client_of(runflow_connection) as client:
        batch = client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "x" * 5_000_000}])))
        assert batch.id
        deadline = time.time() + 20
        while client.send(calls.get_batch(batch.id)).status_code != "succeeded":
            assert time.time() < deadline
            time.sleep(0.1)
        [item] = client.send(calls.batch_items(batch.id))

    figures(lost=0, duplicates=0, checked="5 MB item: 201, output length 5,000,000")
    assert item.output is not None
    assert item.output["length"] == 5_000_000


async def test_polling_a_batch_that_does_not_exist_ends_in_one_error_event_naming_it(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    trigger = RunflowBatchTrigger(batch_ids=[missing], deadline=time.time() + 30, poll_interval=0.1)

    events = [event async for event in trigger.run()]

    figures(lost=0, duplicates=0, checked="404 batch: one error event naming the batch and NOT_FOUND, 1 request")
    [event] = events
    assert event.payload["status"] == "error"
    assert missing in event.payload["message"]
    assert "NOT_FOUND" in event.payload["message"]
    assert runflow_connection.counters()["requests"]["GET /v1/batches/{id}"] == {"404": 1}


def test_an_idempotency_key_reused_with_another_body_is_a_conflict_not_a_new_batch(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    with client_of(runflow_connection) as client:
        client.send(calls.create_batch("acme/test-model", build_batch_request(texts(2)), idempotency_key="key-1"))
        with pytest.raises(RunflowConflictError) as conflict:
            client.send(calls.create_batch("acme/test-model", build_batch_request(texts(3)), idempotency_key="key-1"))

    figures(lost=0, duplicates=0, checked="409 CONFLICT typed, 1 batch")
    assert conflict.value.code == "CONFLICT"
    assert runflow_connection.counters()["batches_created"] == 1


def test_10000_inputs_are_submitted_as_100_batches_with_distinct_idempotency_keys(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    operator = RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=texts(10_000), poll_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"ti": TaskInstanceStub()})  # type: ignore[arg-type]

    trigger = deferred.value.trigger
    assert isinstance(trigger, RunflowBatchTrigger)
    keys = [r["headers"].get("idempotency-key") for r in runflow_connection.requests_log() if r["route"] == CREATE]
    figures(lost=0, duplicates=0, checked="10,000 inputs: 100 POSTs, 100 distinct keys, 100 batches")
    assert len(set(trigger.batch_ids)) == 100
    assert len(set(keys)) == len(keys) == 100
    assert runflow_connection.counters()["batches_created"] == 100
