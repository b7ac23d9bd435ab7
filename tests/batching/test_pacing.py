"""The adaptive poll interval, decided by the tracker from the progress it saw and an injected ``now``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_runflow.batching.pacing import check_poll_interval
from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import Batch

CREATED = 1_000.0


def seen(done: int, *, total: int = 100, created: float | None = CREATED) -> Batch:
    stamp = None if created is None else datetime.fromtimestamp(created, UTC)
    return Batch(status_code="running", items_total=total, items_succeeded=done, created_at=stamp)


def waits(looks: list[tuple[float, Batch]], interval: float | str = "adaptive") -> list[float]:
    """The pause after each look, ``looks`` being (seconds since creation, what the poll returned)."""
    tracker = BatchTracker(["b"], deadline=CREATED + 100_000)
    result = []
    for age, answer in looks:
        tracker.observe("b", answer)
        result.append(round(tracker.pause(CREATED + age, interval), 2))  # type: ignore[arg-type]
    return result


@pytest.mark.parametrize(
    ("looks", "expected"),
    [
        # just submitted, nothing done: look again soon (the 1.5 s floor)
        ([(0.5, seen(0))], [1.5]),
        # no progress yet: two fifths of the batch's age, up to the 1,800 s ceiling
        ([(100.0, seen(0))], [40.0]),
        ([(10_000.0, seen(0))], [1800.0]),
        # steady progress, 10 of 100 items in 100 s: half the 900 s ETA, capped at twice the age (200 s)
        ([(100.0, seen(10))], [200.0]),
        ([(500.0, seen(50))], [250.0]),
        # nearing the end: half the ETA, 20 items left at 0.8 items/s
        ([(100.0, seen(80))], [12.5]),
        # at the end, no shorter than 4% of the age: the end is seen at most that late
        ([(96.0, seen(96))], [3.84]),
        # the rate of the last interval wins when it is faster (items started late): half of 80 s, but 4% of 1,100 s
        ([(1000.0, seen(10)), (1100.0, seen(60))], [1800.0, 44.0]),
        # one item done is noise: still paced by the batch's age
        ([(100.0, seen(1))], [40.0]),
        # no created_at: the first look is the origin
        ([(50.0, seen(0, created=None)), (60.0, seen(0, created=None))], [1.5, 4.0]),
    ],
)
def test_adaptive_wait(looks: list[tuple[float, Batch]], expected: list[float]) -> None:
    assert waits(looks) == expected


def test_a_fixed_interval_stays_fixed_whatever_the_progress() -> None:
    assert waits([(0.5, seen(0)), (100.0, seen(96))], interval=30.0) == [30.0, 30.0]


def test_the_deadline_cuts_any_wait_short() -> None:
    tracker = BatchTracker(["b"], deadline=CREATED + 110)
    tracker.observe("b", seen(0))
    assert tracker.pause(CREATED + 100, "adaptive") == 10.0


def test_the_batch_due_soonest_sets_the_pace() -> None:
    tracker = BatchTracker(["slow", "fast"], deadline=CREATED + 100_000)
    tracker.observe("slow", seen(0))
    tracker.observe("fast", seen(96))
    assert tracker.pause(CREATED + 96, "adaptive") == 3.84


@pytest.mark.parametrize("value", [0, -1.0, "fast", None, True])
def test_bad_poll_intervals_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        check_poll_interval(value)
