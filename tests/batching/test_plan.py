from __future__ import annotations

import json

import pytest

from airflow_provider_runflow.batching.plan import SubmissionScope, plan_chunks

SCOPE = SubmissionScope("dag", "task", "manual__1", -1)


def inputs(n: int) -> list[dict[str, object]]:
    return [{"prompt": f"p{i}"} for i in range(n)]


def test_250_inputs_make_three_batches_covering_every_input_once_in_order() -> None:
    chunks = plan_chunks(inputs(250), model="acme/m", scope=SCOPE)
    assert [len(c.inputs) for c in chunks] == [100, 100, 50]
    assert [c.start for c in chunks] == [0, 100, 200]
    assert [item for c in chunks for item in c.inputs] == inputs(250)


def test_same_task_instance_and_inputs_give_the_same_keys_on_every_try() -> None:
    first = plan_chunks(inputs(150), model="acme/m", scope=SCOPE)
    again = plan_chunks(inputs(150), model="acme/m", scope=SCOPE)
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
def test_anything_that_changes_the_submission_changes_the_keys(change: dict[str, object]) -> None:
    base = {"model": "acme/m", "scope": SCOPE}
    original = plan_chunks(inputs(10), **base)  # type: ignore[arg-type]
    changed = plan_chunks(inputs(10), **{**base, **change})  # type: ignore[arg-type]
    assert original[0].idempotency_key != changed[0].idempotency_key


def test_changing_one_item_changes_only_its_chunks_key() -> None:
    items = inputs(200)
    edited = [*items[:150], {"prompt": "changed"}, *items[151:]]
    before = plan_chunks(items, model="acme/m", scope=SCOPE)
    after = plan_chunks(edited, model="acme/m", scope=SCOPE)
    assert before[0].idempotency_key == after[0].idempotency_key
    assert before[1].idempotency_key != after[1].idempotency_key


@pytest.mark.parametrize("size", [0, 101])
def test_chunk_size_outside_1_to_100_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        plan_chunks(inputs(3), model="acme/m", scope=SCOPE, chunk_size=size)


def test_the_key_follows_the_exact_bytes_sent_whatever_changes_in_them() -> None:
    ordered = plan_chunks([{"prompt": "p", "seed": 1}], model="acme/m", scope=SCOPE)
    reordered = plan_chunks([{"seed": 1, "prompt": "p"}], model="acme/m", scope=SCOPE)
    assert ordered[0].call.body != reordered[0].call.body
    assert ordered[0].idempotency_key != reordered[0].idempotency_key


def test_each_chunk_carries_the_call_that_creates_its_batch_with_its_key() -> None:
    [chunk] = plan_chunks(inputs(3), model="acme/m", scope=SCOPE, metadata={"team": "x"})
    assert (chunk.call.method, chunk.call.path) == ("POST", "/v1/models/acme/m/batches")
    assert chunk.call.headers["Idempotency-Key"] == chunk.idempotency_key
    assert chunk.call.replayable
    assert json.loads(chunk.call.body or b"") == {"input": inputs(3), "metadata": {"team": "x"}}
