"""The adaptive poll interval, decided by the tracker from the progress it saw and an injected ``now``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_runflow.batching.pacing import check_poll_interval
from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import Batch

CREATED = 1_000.0


def seen(done: int, *, total: int | None = 100, created: float | None = CREATED) -> Batch:
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
        # no progress yet: the batch's age, up to the 1,800 s ceiling
        ([(100.0, seen(0))], [100.0]),
        ([(10_000.0, seen(0))], [1800.0]),
        # a batch of one item can show no progress: half its age, so its end is seen at most half its run time late
        ([(100.0, seen(0, total=1))], [50.0]),
        ([(100.0, seen(0, total=None))], [50.0]),  # nor can one of an unknown count be counted on to show any
        # progress from the start, 10 of 100 items in 100 s: half the 900 s ETA, but progress was first seen at this
        # look (it began at some moment since creation), so no longer than half the time since creation
        ([(100.0, seen(10))], [50.0]),
        # seen again 50 s later at the same pace: half the ETA (337.5 s), capped at twice the time since progress
        # began (300 s)
        ([(100.0, seen(10)), (150.0, seen(15))], [50.0, 300.0]),
        ([(400.0, seen(40)), (500.0, seen(50))], [200.0, 250.0]),
        # nearing the end: half the ETA, 20 items left at 1 item/s (the last interval's rate, faster than the average)
        ([(90.0, seen(70)), (100.0, seen(80))], [19.29, 10.0]),
        # at the end, no shorter than 4% of the age: the end is seen at most that late
        ([(90.0, seen(86)), (96.0, seen(96))], [7.33, 3.84]),
        # items start ending late: the rate counts from the last look that saw none, not from creation —
        # 50 items in the 100 s since then → ETA 100 s, half of it; then 45 left at 0.5 items/s
        ([(1000.0, seen(0)), (1100.0, seen(50)), (1110.0, seen(55))], [1000.0, 50.0, 45.0]),
        # one item done is noise: still paced by the batch's age
        ([(100.0, seen(1))], [100.0]),
        # no created_at: the first look is the origin
        ([(50.0, seen(0, created=None)), (60.0, seen(0, created=None))], [1.5, 10.0]),
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
    tracker.observe("fast", seen(0))
    assert tracker.pause(CREATED + 90, "adaptive") == 90.0
    tracker.observe("slow", seen(0))
    tracker.observe("fast", seen(96))  # progress first seen: a quick second look, half the 6 s since the last
    assert tracker.pause(CREATED + 96, "adaptive") == 3.0


@pytest.mark.parametrize("value", [0, -1.0, "fast", None, True])
def test_bad_poll_intervals_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        check_poll_interval(value)
