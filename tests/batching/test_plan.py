from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_runflow.batching.plan import BatchRequest, SubmissionScope, plan_chunks
from airflow_provider_runflow.client import RunflowInputError

SCOPE = SubmissionScope("dag", "task", "manual__1", -1)


def inputs(n: int) -> list[dict[str, object]]:
    return [{"prompt": f"p{i}"} for i in range(n)]


def request(items: list[dict[str, object]], **fields: Any) -> BatchRequest:
    return BatchRequest.checked(fields.pop("model", "acme/m"), items, **fields)


def sent_inputs(chunk: Any) -> list[Any]:
    return list(json.loads(chunk.call.body)["input"])


def test_250_inputs_make_three_batches_covering_every_input_once_in_order() -> None:
    chunks = plan_chunks(request(inputs(250)), SCOPE)
    assert [len(c.indices) for c in chunks] == [100, 100, 50]
    assert [c.indices[0] for c in chunks] == [0, 100, 200]
    assert [item for c in chunks for item in sent_inputs(c)] == inputs(250)
    assert [c.span() for c in chunks][1:] == ["input[100] to input[199]", "input[200] to input[249]"]


def test_a_round_of_some_inputs_sends_those_with_their_changes_and_names_them() -> None:
    [chunk] = plan_chunks(request(inputs(10)), SCOPE, indices=[3, 7], replaced={7: {"prompt": "better"}})
    assert sent_inputs(chunk) == [{"prompt": "p3"}, {"prompt": "better"}]
    assert chunk.indices == [3, 7]


def test_the_request_is_checked_once_naming_every_bad_item_and_field() -> None:
    with pytest.raises(RunflowInputError, match=r"input\[1\]\.seed.*input\[2\]: must be a JSON object"):
        request([{"prompt": "ok"}, {"prompt": "x", "seed": float("nan")}, "not an object"])  # type: ignore[list-item]


def test_same_task_instance_and_inputs_give_the_same_keys_on_every_try() -> None:
    first = plan_chunks(request(inputs(150)), SCOPE)
    again = plan_chunks(request(inputs(150)), SCOPE)
    assert [c.idempotency_key for c in first] == [c.idempotency_key for c in again]
    assert len({c.idempotency_key for c in first}) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"scope": SubmissionScope("dag", "task", "manual__2", -1)},
        {"scope": SubmissionScope("dag", "task", "manual__1", 3)},
        {"scope": SubmissionScope("dag", "task", "manual__1", 0)},
        {"scope": SubmissionScope("dag", "other", "manual__1", -1)},
        {"scope": SubmissionScope("dag", "task", "manual__1", -1, salt="2")},
        {"scope": SubmissionScope("dag", "task", "manual__1", -1, round=1)},
        {"model": "acme/other"},
        {"metadata": {"team": "x"}},
        {"callback_url": "https://example.com/cb"},
    ],
)
def test_anything_that_changes_the_submission_changes_the_keys(change: dict[str, Any]) -> None:
    original = plan_chunks(request(inputs(10)), SCOPE)
    scope = change.pop("scope", SCOPE)
    changed = plan_chunks(request(inputs(10), **change), scope)
    assert original[0].idempotency_key != changed[0].idempotency_key


def test_changing_one_item_changes_only_its_chunks_key() -> None:
    items = inputs(200)
    edited = [*items[:150], {"prompt": "changed"}, *items[151:]]
    before = plan_chunks(request(items), SCOPE)
    after = plan_chunks(request(edited), SCOPE)
    assert before[0].idempotency_key == after[0].idempotency_key
    assert before[1].idempotency_key != after[1].idempotency_key


@pytest.mark.parametrize("size", [0, 101])
def test_chunk_size_outside_1_to_100_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        request(inputs(3), chunk_size=size)


def test_the_key_follows_the_exact_bytes_sent_whatever_changes_in_them() -> None:
    ordered = plan_chunks(request([{"prompt": "p", "seed": 1}]), SCOPE)
    reordered = plan_chunks(request([{"seed": 1, "prompt": "p"}]), SCOPE)
    assert ordered[0].call.body != reordered[0].call.body
    assert ordered[0].idempotency_key != reordered[0].idempotency_key


def test_each_chunk_carries_the_call_that_creates_its_batch_with_its_key() -> None:
    [chunk] = plan_chunks(request(inputs(3), metadata={"team": "x"}), SCOPE)
    assert (chunk.call.method, chunk.call.path) == ("POST", "/v1/models/acme/m/batches")
    assert chunk.call.headers["Idempotency-Key"] == chunk.idempotency_key
    assert chunk.call.replayable
    assert json.loads(chunk.call.body or b"") == {"input": inputs(3), "metadata": {"team": "x"}}
