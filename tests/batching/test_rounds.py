from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_runflow.batching.outcome import RunflowBatchFailedError, finished_batches
from airflow_provider_runflow.batching.rounds import Round, RunState


def batch(batch_id: str, status: str, succeeded: int, failed: int, cost: str = "0") -> dict[str, Any]:
    total = succeeded + failed
    return {
        "batch_id": batch_id,
        "expected_items": total,
        "status": status,
        "items_total": total,
        "items_succeeded": succeeded,
        "items_failed": failed,
        "items_cancelled": 0,
        "cost": cost,
    }


ROUNDS = [
    Round(
        0,
        ["a", "b"],
        [100, 50],
        None,
        [batch("a", "partial_succeeded", 97, 3, "0.97"), batch("b", "succeeded", 50, 0, "0.5")],
    ),
    Round(1, ["c"], [3], [4, 60, 140], [batch("c", "partial_succeeded", 2, 1, "0.02")]),
    Round(2, ["d"], [1], [140], [batch("d", "failed", 0, 1)]),
]


def test_a_round_maps_its_items_back_to_input_indexes() -> None:
    assert [ROUNDS[0].input_index(p) for p in (0, 149)] == [0, 149]
    assert [ROUNDS[1].input_index(p) for p in (0, 2)] == [4, 140]


def test_attempts_count_every_round_an_input_ran_in() -> None:
    assert RunState(0.0, ROUNDS).attempts() == {4: 2, 60: 2, 140: 3}


def test_each_round_counts_its_items_outcomes_and_cost_from_its_batches() -> None:
    assert ROUNDS[0].counts() == {
        "round": 0,
        "items": 150,
        "batches": 2,
        "succeeded": 147,
        "failed": 3,
        "cancelled": 0,
        "cost": "1.47",
    }


def test_a_run_travels_as_json_and_comes_back_equal() -> None:
    run = RunState(1_900_000_000.5, ROUNDS)
    assert RunState.from_json(json.loads(json.dumps(run.to_json()))) == run
    assert run.batch_ids == ["a", "b", "c", "d"]


def test_an_event_of_a_task_deferred_by_0_1_0_is_one_round_of_its_batches() -> None:
    event = {"status": "success", "message": "", "batches": ROUNDS[0].batches}
    run = RunState.of_event(event, now=42.0)
    assert run == RunState(42.0, [Round(0, ["a", "b"], [100, 50])])


def test_a_batch_failed_with_all_its_items_is_left_to_the_items_only_when_they_are_re_run() -> None:
    event = {"status": "success", "message": "", "batches": ROUNDS[2].batches, "carry": None}
    assert [s.batch_id for s in finished_batches(event, judge_items=True)] == ["d"]
    with pytest.raises(RunflowBatchFailedError):
        finished_batches(event)


def test_a_batch_failed_with_items_still_unfinished_fails_even_when_items_are_re_run() -> None:
    unfinished = {**batch("e", "errored", 0, 0), "items_total": 5}
    with pytest.raises(RunflowBatchFailedError):
        finished_batches({"status": "success", "batches": [unfinished]}, judge_items=True)
