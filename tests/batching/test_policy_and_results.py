from __future__ import annotations

from decimal import Decimal

import pytest

from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowDeadlineError,
    RunflowWaitError,
    finished_batches,
)
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import RunflowMissingItemsError, Tally, ordered_results
from airflow_provider_runflow.client import BatchItemRow


@pytest.mark.parametrize(
    ("policy", "failed", "total", "allowed"),
    [
        (FailurePolicy(), 0, 10, True),
        (FailurePolicy(), 1, 10, False),
        (FailurePolicy(max_failed_items=None), 10, 10, True),
        (FailurePolicy(max_failed_items=2), 2, 10, True),
        (FailurePolicy(max_failed_items=2), 3, 10, False),
        (FailurePolicy(max_failed_items=None, max_failed_ratio=0.1), 1, 10, True),
        (FailurePolicy(max_failed_items=None, max_failed_ratio=0.1), 2, 10, False),
        (FailurePolicy(max_failed_items=5, max_failed_ratio=0.1), 2, 10, False),
    ],
)
def test_failure_policy(policy: FailurePolicy, failed: int, total: int, allowed: bool) -> None:
    assert (policy.violation(failed, total) is None) is allowed


def row(seq: int, status: str = "succeeded", **fields: object) -> BatchItemRow:
    return BatchItemRow(id=f"item-{seq}", sequence_index=seq, status_code=status, run_id=f"run-{seq}", **fields)


def test_items_come_back_in_input_order_whatever_order_runflow_lists_them() -> None:
    rows = [row(2, output={"n": 2}), row(0, output={"n": 0}), row(1, "failed", error={"code": "X"})]
    entries = ordered_results("b1", rows, start=100, expected=3)
    assert [(e["index"], e["run_id"], e["status"]) for e in entries] == [
        (100, "run-0", "succeeded"),
        (101, "run-1", "failed"),
        (102, "run-2", "succeeded"),
    ]
    assert entries[1]["error"] == {"code": "X"}


def test_one_based_sequence_numbers_are_ordered_the_same() -> None:
    entries = ordered_results("b1", [row(3), row(1), row(2)], start=0, expected=3)
    assert [e["run_id"] for e in entries] == ["run-1", "run-2", "run-3"]


def test_a_missing_item_is_an_error_not_a_shorter_list() -> None:
    with pytest.raises(RunflowMissingItemsError, match="b1 returned 2 items, expected 3"):
        ordered_results("b1", [row(0), row(1)], start=0, expected=3)


def test_the_same_item_listed_twice_counts_once() -> None:
    entries = ordered_results("b1", [row(0), row(1), row(0)], start=0, expected=2)
    assert len(entries) == 2


def test_tally_counts_statuses_and_sums_cost_exactly() -> None:
    tally = Tally()
    tally.add(ordered_results("b", [row(0, cost="0.10"), row(1, "failed", cost="0.20")], 0, 2))
    assert tally.cost == Decimal("0.30")
    assert (tally.total, tally.not_succeeded) == (2, 1)


def test_final_event_errors() -> None:
    with pytest.raises(RunflowDeadlineError, match="still"):
        finished_batches({"status": "timeout", "message": "still running: b", "batches": []})
    with pytest.raises(RunflowWaitError, match="401"):
        finished_batches({"status": "error", "message": "401", "batches": []})
    failed = {"batch_id": "b2", "status": "errored", "failure_code": "GPU_LOST", "failure_message": "node died"}
    with pytest.raises(RunflowBatchFailedError, match=r"batch b2 errored: GPU_LOST \(node died\)"):
        finished_batches(
            {"status": "success", "message": "", "batches": [{"batch_id": "b1", "status": "succeeded"}, failed]}
        )
