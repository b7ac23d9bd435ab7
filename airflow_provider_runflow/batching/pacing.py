"""How long to wait before the next poll: a fixed interval, or paced by each batch's observed progress.

Adaptive pacing (the default) looks soon after submission and then spaces polls by the
batch's estimated time to completion (ETA), from the items done per second: half the ETA
each time, so the estimate is corrected as the end nears and the last look lands close to
completion. A batch that shows no progress yet is looked at after two fifths of the time it
has run, so a long opaque batch costs a few dozen polls, not one every few seconds.
docs/benchmarks.md ("Adaptive polling") measures the choice of these constants.
Pure code: the trigger, the operator's blocking mode and the sensor only sleep what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ADAPTIVE: Final = "adaptive"
PollInterval = float | Literal["adaptive"]
"""Seconds between polls (fixed), or ``"adaptive"``."""

MIN_WAIT = 1.5
"""Adaptive: the shortest wait between polls, in seconds (also the first look after submission)."""
MAX_WAIT = 1800.0
"""Adaptive: the longest wait between polls, in seconds."""
MIN_ITEMS = 2
"""Adaptive: items that must have ended over a span before its rate is trusted (one alone is noise)."""
AGE_SHARE = 2.0
"""Adaptive: the longest wait as a share of the batch's age, however far off its ETA: early rates are noisy."""
ETA_SHARE = 0.5
"""Adaptive: the share of the estimated remaining time waited before looking again."""
LATE_SHARE = 0.04
"""Adaptive: the shortest wait once progress is seen, as a share of the batch's age: the end is then seen at most
4% of the batch's run time late, rather than halving the ETA down to the floor."""
BLIND_SHARE = 0.4
"""Adaptive: with no progress seen yet, the share of the batch's age waited before looking again."""


def check_poll_interval(value: object) -> PollInterval:
    """``value`` as a poll interval: a positive number of seconds or ``"adaptive"``; else ``ValueError``."""
    if value == ADAPTIVE:
        return ADAPTIVE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"poll_interval must be a positive number of seconds or {ADAPTIVE!r}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Sample:
    """Items done by a batch at a time (epoch seconds)."""

    at: float
    done: int


def adaptive_wait(first: Sample, last: Sample, now: Sample, total: int | None) -> float:
    """Seconds until the next look at one batch, from its progress at ``first``, ``last`` and ``now``.

    The rate is the faster of the whole wait's and the last interval's: items often start
    finishing late (they queue, then run side by side), and a rate too slow would sleep past
    the end, while one too fast only costs an extra poll.
    """
    age = now.at - first.at
    rates = [
        (now.done - then.done) / (now.at - then.at)
        for then in (first, last)
        if now.at > then.at and now.done - then.done >= MIN_ITEMS
    ]
    if rates and total:
        eta = max(0, total - now.done) / max(rates)
        wait = min(max(ETA_SHARE * eta, LATE_SHARE * age), AGE_SHARE * age)
    else:
        wait = BLIND_SHARE * age
    return min(MAX_WAIT, max(MIN_WAIT, wait))
