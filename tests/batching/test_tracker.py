from __future__ import annotations

import pytest

from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import (
    Batch,
    RunflowAPIError,
    RunflowAuthenticationError,
    RunflowNotFoundError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTransportError,
)
from airflow_provider_runflow.client.retry import is_transient


def batch(status: str, **counts: int) -> Batch:
    return Batch(status_code=status, items_total=counts.pop("total", 10), **counts)


def test_keeps_waiting_while_any_batch_runs_and_stops_polling_finished_ones() -> None:
    tracker = BatchTracker(["a", "b"], deadline=100.0)
    tracker.observe("a", batch("succeeded", items_succeeded=10))
    tracker.observe("b", batch("running", items_succeeded=4))
    assert tracker.outcome(now=1.0) is None
    assert tracker.pending() == ["b"]


def test_success_event_carries_every_batch_when_all_are_terminal() -> None:
    tracker = BatchTracker(["a", "b"], deadline=100.0)
    tracker.observe("a", batch("succeeded", items_succeeded=10))
    tracker.observe("b", batch("canceled", items_cancelled=10))
    event = tracker.outcome(now=1.0)
    assert event is not None
    assert event["status"] == "success"
    assert [(b["batch_id"], b["status"]) for b in event["batches"]] == [("a", "succeeded"), ("b", "cancelled")]


def test_unknown_status_is_never_taken_for_finished() -> None:
    tracker = BatchTracker(["a"], deadline=100.0)
    tracker.observe("a", batch("reticulating"))
    assert tracker.outcome(now=1.0) is None


def test_deadline_ends_the_wait_naming_the_batches_still_running() -> None:
    tracker = BatchTracker(["a", "b"], deadline=100.0)
    tracker.observe("a", batch("succeeded", items_succeeded=10))
    tracker.observe("b", batch("running", items_succeeded=3, items_failed=1))
    event = tracker.outcome(now=100.0)
    assert event is not None
    assert event["status"] == "timeout"
    assert "b (running, 4/10 items done)" in event["message"]
    assert "a (" not in event["message"]


def test_401_ends_the_wait_at_once() -> None:
    tracker = BatchTracker(["a"], deadline=100.0)
    tracker.observe("a", RunflowAuthenticationError("GET", "/v1/batches/a", 401, "UNAUTHORIZED", "bad key"))
    event = tracker.outcome(now=1.0)
    assert event is not None
    assert event["status"] == "error"
    assert "UNAUTHORIZED" in event["message"]


def test_vanished_batch_ends_the_wait_at_once() -> None:
    tracker = BatchTracker(["a"], deadline=100.0)
    tracker.observe("a", RunflowNotFoundError("GET", "/v1/batches/a", 404, "NOT_FOUND", "no batch"))
    event = tracker.outcome(now=1.0)
    assert event is not None
    assert event["status"] == "error"


def test_transient_failures_end_the_wait_only_after_the_limit_in_a_row() -> None:
    tracker = BatchTracker(["a"], deadline=100.0, max_poll_failures=3)
    error = RunflowServerError("GET", "/v1/batches/a", 503, "UNAVAILABLE", "try later")
    tracker.observe("a", error)
    tracker.observe("a", error)
    assert tracker.outcome(now=1.0) is None
    tracker.observe("a", batch("running"))  # a success resets the run of failures
    tracker.observe("a", error)
    tracker.observe("a", error)
    assert tracker.outcome(now=1.0) is None
    tracker.observe("a", error)
    event = tracker.outcome(now=1.0)
    assert event is not None
    assert event["status"] == "error"
    assert "3 times in a row" in event["message"]


def test_progress_is_reported_on_change_and_rate_limited() -> None:
    tracker = BatchTracker(["a"], deadline=100.0)
    tracker.observe("a", batch("running", items_succeeded=1))
    assert tracker.progress(now=0.0) == (
        "Runflow: 0/1 batches finished, 1/10 items done (1 succeeded, 0 failed or cancelled)"
    )
    assert tracker.progress(now=20.0) is None  # nothing changed
    tracker.observe("a", batch("running", items_succeeded=2))
    assert tracker.progress(now=5.0) is None  # changed, but within 10 s of the last line
    assert tracker.progress(now=10.0) is not None
    tracker.observe("a", batch("succeeded", items_succeeded=10))
    assert tracker.progress(now=10.5) is not None  # the final state is always reported


@pytest.mark.parametrize(
    ("error", "ends_at_once"),
    [
        (RunflowResponseError("GET", "/v1/batches/a", 302, "unexpected status"), True),
        (RunflowResponseError("GET", "/v1/batches/a", 200, "malformed JSON"), False),
        (RunflowAPIError("GET", "/v1/batches/a", 418, "TEAPOT"), True),
        (RunflowRateLimitError("GET", "/v1/batches/a", 429, "RATE_LIMITED"), False),
        (RunflowServerError("GET", "/v1/batches/a", 502, "BAD_GATEWAY"), False),
        (RunflowTransportError("GET", "/v1/batches/a", ConnectionResetError("reset")), False),
        (ValueError("a bug"), True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_whatever_the_retry_classifier_calls_permanent_ends_the_wait_at_once(
    error: BaseException, ends_at_once: bool
) -> None:
    tracker = BatchTracker(["a"], deadline=100.0)
    tracker.observe("a", error)
    event = tracker.outcome(now=1.0)
    assert (event is not None and event["status"] == "error") is ends_at_once
    assert is_transient(error) is not ends_at_once


def test_the_event_hands_back_the_carry_and_the_expected_items() -> None:
    tracker = BatchTracker(["a", "b"], deadline=100.0, expected_items=[100, 7], carry={"started_at": 42.5})
    tracker.observe("a", batch("succeeded", items_succeeded=10))
    tracker.observe("b", batch("succeeded", items_succeeded=10))
    event = tracker.outcome(now=1.0)
    assert event is not None
    assert event["carry"] == {"started_at": 42.5}
    assert [b["expected_items"] for b in event["batches"]] == [100, 7]
