"""Batch creation, validation and lifecycle over real HTTP, through the provider's client."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from emulator_support import make_async_client, raw_create, wait_terminal

from airflow_provider_runflow.client import (
    RunflowClient,
    RunflowNotFoundError,
    RunflowValidationError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.emulator import RunflowEmulator


def test_batch_runs_queued_to_succeeded_with_deterministic_outputs(client: RunflowClient) -> None:
    request = build_batch_request([{"prompt": "a cat", "width": 512, "client_ref": "cat"}, {"prompt": "a dog"}])
    created = client.send(calls.create_batch("acme/image-gen", request))
    assert created.status_code == "queued"
    assert [(h.sequence_index, h.client_ref, h.status_code) for h in created.items or []] == [
        (0, "cat", "queued"),
        (1, None, "queued"),
    ]
    done = wait_terminal(client, created.id or "")
    assert (done.status_code, done.items_total, done.items_succeeded, done.items_failed) == ("succeeded", 2, 2, 0)
    assert done.cost == Decimal("0.0080")
    assert done.failure_code is None
    assert done.created_at
    assert done.started_at
    assert done.completed_at
    assert done.created_at <= done.started_at <= done.completed_at
    assert done.duration_ms == round((done.completed_at - done.created_at).total_seconds() * 1000)
    assert done.links == {
        "self": f"{client.config.base_url}/v1/batches/{done.id}",
        "dashboard": f"https://app.runflow.invalid/batches/{done.id}",
    }
    assert done.input == [{"prompt": "a cat", "width": 512, "client_ref": "cat"}, {"prompt": "a dog"}]
    outputs = [row.output for row in client.send(calls.batch_items(done.id or ""))]
    assert outputs[0] is not None
    assert outputs[0]["width"] == 512
    assert outputs[0]["height"] == 1024
    again = wait_terminal(client, client.send(calls.create_batch("acme/image-gen", request)).id or "")
    # The same media each time; only the presigned URL's signature and expiry are fresh on every read.
    again_outputs = [_unsigned(row.output) for row in client.send(calls.batch_items(again.id or ""))]
    assert again_outputs == [_unsigned(o) for o in outputs]


def _unsigned(output: dict[str, Any] | None) -> dict[str, Any]:
    assert output is not None
    return {**output, "image_url": urlsplit(output["image_url"]).path}


def test_batch_is_running_while_its_items_run(emu: RunflowEmulator, client: RunflowClient) -> None:
    slow = build_batch_request([{"text": "slow", "run_seconds": 20.0}, {"text": "quick", "run_seconds": 0.0}])
    batch_id = client.send(calls.create_batch("acme/test-model", slow)).id or ""
    time.sleep(0.05)
    running = client.send(calls.get_batch(batch_id))
    assert running.status_code == "running"
    assert [h.status_code for h in running.items or []] == ["running", "succeeded"]
    assert running.started_at is not None
    assert running.completed_at is None
    assert running.duration_ms is None


def test_some_failed_items_make_the_batch_partial_succeeded(client: RunflowClient) -> None:
    request = build_batch_request([{"text": "ok"}, {"text": "boom", "fail": True}, {"text": "ok too"}])
    done = wait_terminal(client, client.send(calls.create_batch("acme/test-model", request)).id or "")
    assert (done.status_code, done.items_succeeded, done.items_failed) == ("partial_succeeded", 2, 1)
    assert done.cost == Decimal("0.0020")
    assert done.failure_code == "ITEMS_FAILED"
    assert done.failure_message == "1 of 3 items did not succeed"
    failed = [row for row in client.send(calls.batch_items(done.id or "")) if row.status_code == "failed"]
    assert [(row.sequence_index, (row.error or {}).get("code"), row.output) for row in failed] == [
        (1, "MODEL_ERROR", None)
    ]
    assert done.output is not None
    assert (done.output["succeeded"], done.output["failed"], done.output["total"]) == (2, 1, 3)


def test_all_items_failing_fail_the_batch(client: RunflowClient) -> None:
    request = build_batch_request([{"text": "a", "fail": True}, {"text": "b", "fail": True}])
    done = wait_terminal(client, client.send(calls.create_batch("acme/test-model", request)).id or "")
    assert (done.status_code, done.items_failed, done.cost) == ("failed", 2, Decimal("0"))
    assert done.failure_code == "ALL_ITEMS_FAILED"
    assert done.failure_stage_code == "execution"


def test_fail_attempts_fails_the_first_runs_of_an_input_then_succeeds(client: RunflowClient) -> None:
    def run_once() -> tuple[str | None, object]:
        request = build_batch_request([{"text": "flaky", "fail_attempts": 2}])
        [row] = client.send(
            calls.batch_items(
                wait_terminal(client, client.send(calls.create_batch("acme/test-model", request)).id or "").id or ""
            )
        )
        return row.status_code, (row.error or {}).get("code")

    assert [run_once() for _ in range(3)] == [("failed", "WORKER_LOST"), ("failed", "WORKER_LOST"), ("succeeded", None)]


def test_model_slug_may_contain_a_slash(client: RunflowClient) -> None:
    done = wait_terminal(
        client, client.send(calls.create_batch("acme/video/gen-v2", build_batch_request([{"prompt": "sea"}]))).id or ""
    )
    assert done.status_code == "succeeded"
    row = client.send(calls.batch_items(done.id or ""))[0]
    assert row.output is not None
    assert urlsplit(row.output["video_url"]).path.endswith(".mp4")


def test_unknown_model_is_not_found(client: RunflowClient) -> None:
    with pytest.raises(RunflowNotFoundError) as caught:
        client.send(calls.create_batch("acme/nope", build_batch_request([{"prompt": "x"}])))
    assert caught.value.code == "NOT_FOUND"


def test_model_without_batch_support_is_rejected(client: RunflowClient) -> None:
    with pytest.raises(RunflowValidationError) as caught:
        client.send(calls.create_batch("acme/single-only", build_batch_request([{"prompt": "x"}])))
    assert caught.value.code == "MODEL_NOT_BATCH_CAPABLE"


def test_invalid_items_are_reported_per_item_and_field(emu: RunflowEmulator, client: RunflowClient) -> None:
    inputs = [{"text": "fine"}, {}, {"text": 3}, {"text": "x", "client_ref": "r" * 256}, {"text": "y", "fail": "yes"}]
    with pytest.raises(RunflowValidationError) as caught:
        client.send(raw_create("acme/test-model", {"input": inputs}))
    problems = {(e["index"], e["field"]) for e in caught.value.errors}
    assert problems == {(1, "text"), (2, "text"), (3, "client_ref"), (4, "fail")}
    assert emu.counters()["batches_created"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": []}, "input"),
        ({"input": [{"text": str(i)} for i in range(101)]}, "input"),
        ({"input": [{"text": "a"}], "callback_url": "https://x.invalid/" + "a" * 2048}, "callback_url"),
        ({"input": [{"text": "a"}], "callback_url": "ftp://x.invalid/hook"}, "callback_url"),
        ({"input": [{"text": "a"}], "metadata": ["not", "an", "object"]}, "metadata"),
    ],
)
def test_invalid_batch_envelopes_are_rejected(client: RunflowClient, body: dict[str, object], field: str) -> None:
    with pytest.raises(RunflowValidationError) as caught:
        client.send(raw_create("acme/test-model", body))
    assert [e["field"] for e in caught.value.errors] == [field]


def test_client_ref_is_stripped_before_validation(client: RunflowClient) -> None:
    created = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a", "client_ref": "ref-1"}]))
    )
    row = client.send(calls.batch_items(created.id or ""))[0]
    assert (row.client_ref, row.input) == ("ref-1", {"text": "a"})


def test_unknown_batch_is_not_found(client: RunflowClient) -> None:
    with pytest.raises(RunflowNotFoundError):
        client.send(calls.get_batch("3c90c3cc-0d44-4b50-8888-8dd25736052a"))


async def test_async_client_polls_a_batch_to_success(emu: RunflowEmulator) -> None:
    async with make_async_client(emu) as runflow:
        created = await runflow.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "hi"}])))
        batch = await runflow.send(calls.get_batch(created.id or ""))
        while batch.status_code != "succeeded":
            batch = await runflow.send(calls.get_batch(created.id or ""))
        rows = await runflow.send(calls.batch_items(created.id or ""))
    assert [row.output for row in rows] == [{"text": "HI", "length": 2, "digest": rows[0].output["digest"]}]  # type: ignore[index]
