"""How long to wait before the next poll: a fixed interval, or paced by each batch's observed progress.

Adaptive pacing (the default) looks soon after submission. While no item has ended, the wait
is the batch's age (half of it for a batch of one item), so the gaps grow with the batch. Once
items end, polls are spaced by the estimated time to completion (ETA, from items done per
second): half the ETA each time, so the estimate is corrected as the end nears and the last
look lands close to completion. A batch that shows no progress to pace by is seen late: one
item, up to half its run time; several items ending at the same moment, up to all of it;
docs/benchmarks.md ("Adaptive polling") measures these constants and why no schedule of a few
dozen looks does much better there.
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
ETA_SHARE = 0.5
"""Adaptive: the share of the estimated remaining time waited before looking again."""
LATE_SHARE = 0.04
"""Adaptive: the shortest wait once progress is seen, as a share of the batch's age: the end is then seen at most
4% of the batch's run time late, rather than halving the ETA down to the floor."""
PROGRESS_SHARE = 2.0
"""Adaptive: the longest wait as a share of the time since progress began, however far off the ETA: early rates
are noisy."""
ONSET_SHARE = 0.5
"""Adaptive: the longest wait right after progress is first seen, as a share of the last blind wait: progress
began at some unknown moment of it, so the first rate is a floor and a quick second look measures it."""
BLIND_SHARE = 1.0
"""Adaptive: with no progress seen yet, the share of the batch's age waited before looking again. A batch of
several items usually shows progress before its end, which the looks then pace by; growing the gaps this fast
keeps a two-hour batch whose items end only in its second half within 20 polls."""
SINGLE_ITEM_SHARE = 0.5
"""Adaptive: the same share for a batch of one item (or of an unknown count), which can show no progress: its
end is seen at most half its run time late (and at most ``MAX_WAIT``), for a few more polls than the default
share would cost (docs/benchmarks.md weighs the two)."""


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


def adaptive_wait(created: float, before: Sample, last: Sample, now: Sample, total: int | None) -> float:
    """Seconds until the next look at one batch created at ``created``.

    ``before`` is the last look that saw no item done (progress began after it), ``last`` the
    previous look. The rate is the faster of the one since progress began and the last
    interval's: items often queue, then finish side by side, and a rate too slow would sleep
    past the end, while one too fast only costs an extra poll. Until progress is seen, the wait
    grows with the batch's age; once it is, with the time since it began, so a batch whose items
    start finishing late is not slept through.
    """
    age = now.at - created
    rates = [
        (now.done - then.done) / (now.at - then.at)
        for then in (before, last)
        if now.at > then.at and now.done - then.done >= MIN_ITEMS
    ]
    if rates and total:
        eta = max(0, total - now.done) / max(rates)
        longest = (ONSET_SHARE if before == last else PROGRESS_SHARE) * (now.at - before.at)
        wait = min(max(ETA_SHARE * eta, LATE_SHARE * age), longest)
    else:
        wait = (BLIND_SHARE if total and total > 1 else SINGLE_ITEM_SHARE) * age
    return min(MAX_WAIT, max(MIN_WAIT, wait))
