from __future__ import annotations

from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import Batch, RunflowAuthenticationError, RunflowNotFoundError, RunflowServerError


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
