from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_runflow.batching.outcome import RunflowBatchFailedError, finished_batches
from airflow_provider_runflow.batching.rounds import Round, attempts


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


def test_attempts_count_every_round_an_input_ran_in_after_the_first() -> None:
    assert attempts(ROUNDS) == {4: 1, 60: 1, 140: 2}


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


def test_rounds_travel_as_json_and_come_back_equal() -> None:
    assert [Round.from_json(r.to_json()) for r in ROUNDS] == ROUNDS


def test_a_batch_failed_with_all_its_items_is_left_to_the_items_only_when_they_are_re_run() -> None:
    event = {"status": "success", "message": "", "batches": ROUNDS[2].batches, "submitted_at": None}
    assert [s.batch_id for s in finished_batches(event, judge_items=True)] == ["d"]
    with pytest.raises(RunflowBatchFailedError):
        finished_batches(event)


def test_a_batch_failed_with_items_still_unfinished_fails_even_when_items_are_re_run() -> None:
    unfinished = {**batch("e", "errored", 0, 0), "items_total": 5}
    with pytest.raises(RunflowBatchFailedError):
        finished_batches({"status": "success", "batches": [unfinished]}, judge_items=True)
