"""Adaptive polling: polls per batch and detection delay, the real BatchTracker against modelled batches.

Each case drives :class:`BatchTracker` (``observe`` → ``outcome`` → ``pause``) on a simulated
clock, exactly as the trigger and the blocking mode do, against a batch whose answers are
computed from a model rather than served by the emulator: two hours of emulated time would
take two hours of wall time or an emulator clock the poll loop cannot see. Each poll takes
``latency`` seconds; the delay is the time from the batch's completion to the final event.
The case ``SINGLE_ITEM_PACE`` paces batches of 100 items as adaptive pacing paces a batch of
one, to show what a bound on late sightings costs in polls where progress can be read.
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

from airflow_provider_runflow.batching import pacing
from airflow_provider_runflow.batching.pacing import PollInterval
from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client.models import Batch

DURATIONS = (10.0, 120.0, 1800.0, 7200.0)
SINGLE_ITEM_PACE = "adaptive, paced as one item"
INTERVALS: tuple[PollInterval | str, ...] = ("adaptive", SINGLE_ITEM_PACE, 5.0, 30.0)
ITEMS = 100
OPAQUE_SWEEP = 60
"""Durations, log-spaced over the benchmark's range, swept for the worst case of a batch that shows no progress."""
SUBMITTED = 1_800_000_000.0


@dataclass(frozen=True)
class ModelBatch:
    """A batch of ``items`` items created at ``SUBMITTED``, the last item ending ``duration`` s later.

    ``spread``: items run side by side and end uniformly over the last ``spread`` share of the
    duration (1.0: steady progress from the start; 0.0: all end at once, no progress to read).
    """

    duration: float
    spread: float
    seed: int | None = 0
    """The random draw of the items' ends; None: evenly spaced (how the capacity benchmark's batches end)."""
    items: int = ITEMS

    def ends(self) -> list[float]:
        start = self.duration * (1 - self.spread)
        if self.seed is None:
            return [SUBMITTED + start + (self.duration - start) * (k + 1) / self.items for k in range(self.items)]
        rng = random.Random(self.seed)
        ends = sorted(start + rng.random() * (self.duration - start) for _ in range(self.items - 1))
        return [SUBMITTED + t for t in [*ends, self.duration]]

    def at(self, now: float, ends: list[float]) -> Batch:
        done = sum(end <= now for end in ends)
        status = "succeeded" if done == self.items else "running"
        created = datetime.fromtimestamp(SUBMITTED, UTC)
        return Batch(status_code=status, items_total=self.items, items_succeeded=done, created_at=created)


def simulate(batch: ModelBatch, interval: PollInterval | str, latency: float = 0.1) -> dict[str, Any]:
    """Poll ``batch`` until the tracker's final event; the polls it took and how late it saw the end."""
    trade = interval == SINGLE_ITEM_PACE
    with patch.object(pacing, "BLIND_SHARE", pacing.SINGLE_ITEM_SHARE) if trade else nullcontext():
        return _simulate(batch, "adaptive" if trade else interval, latency)  # type: ignore[arg-type]


def _simulate(batch: ModelBatch, interval: PollInterval, latency: float) -> dict[str, Any]:
    looks = looks_at(batch, interval, latency)
    return {"polls": len(looks), "delay_s": round(SUBMITTED + looks[-1] + latency - batch.ends()[-1], 2)}


def looks_at(batch: ModelBatch, interval: PollInterval, latency: float = 0.1, first: float = 0.5) -> list[float]:
    """When the tracker looks at ``batch``, in seconds after its creation, the first time at ``first``.

    Each answer comes ``latency`` seconds after its look and the next wait is decided then, as a
    poll loop does; the last look is the one that sees the batch end.
    """
    ends = batch.ends()
    tracker = BatchTracker(["b"], deadline=SUBMITTED + 10 * batch.duration)
    now, looks = SUBMITTED + first, []
    while True:
        looks.append(now - SUBMITTED)
        tracker.observe("b", batch.at(now, ends))
        now += latency
        if tracker.outcome(now) is not None:
            return looks
        now += tracker.pause(now, interval)


def _row(model: str, duration: float, interval: PollInterval | str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    polls = sorted(r["polls"] for r in runs)
    return {
        "model": model,
        "duration_s": duration,
        "interval": interval,
        "polls_median": polls[len(polls) // 2],
        "polls_max": polls[-1],
        "delay_max_s": max(r["delay_s"] for r in runs),
        "goal_delay_s": max(2.0, 0.05 * duration),
    }


def _worst_opaque(
    model: str, batch: ModelBatch, interval: PollInterval | str, durations: tuple[float, ...]
) -> dict[str, Any]:
    """``batch`` (no progress to read) over ``OPAQUE_SWEEP`` durations: the row of the one seen latest for its length.

    A single duration lands wherever the schedule happens to put a look; the worst over many
    shows the bound a user can rely on. Polls: median and maximum over the sweep."""
    low, high = durations[0], durations[-1]
    sweep = [low * (high / low) ** (k / (OPAQUE_SWEEP - 1)) for k in range(OPAQUE_SWEEP)]
    runs = {duration: simulate(replace(batch, duration=duration), interval) for duration in sweep}
    duration = max(runs, key=lambda d: runs[d]["delay_s"] / max(2.0, 0.05 * d))
    polls = sorted(r["polls"] for r in runs.values())
    row = _row(f"{model}, worst of {OPAQUE_SWEEP} durations", round(duration), interval, [runs[duration]])
    return {**row, "polls_median": polls[len(polls) // 2], "polls_max": polls[-1]}


def run_pacing(durations: tuple[float, ...] = DURATIONS) -> list[dict[str, Any]]:
    """One row per (progress model, duration, interval): median polls and worst delay over 20 seeds."""
    rows = [
        _row(model, duration, interval, [simulate(ModelBatch(duration, spread, seed), interval) for seed in range(20)])
        for spread, model in ((1.0, "steady progress"), (0.5, "items end in the second half"), (0.0, "all at once"))
        for duration in durations
        for interval in INTERVALS
    ]
    opaque = (("one item", ModelBatch(0.0, 0.0, items=1)), ("all at once", ModelBatch(0.0, 0.0)))
    return rows + [
        _worst_opaque(model, batch, interval, durations)
        for model, batch in opaque
        for interval in INTERVALS
        if not (interval == SINGLE_ITEM_PACE and batch.items == 1)
    ]


if __name__ == "__main__":
    for row in run_pacing():
        print(row)
