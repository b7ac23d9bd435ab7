"""Runflow's status vocabulary for batches, items and runs.

Runflow types ``status_code`` as a free string and publishes both ``cancelled``
and ``canceled``; an unknown value is never taken for a finished success.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The status values Runflow publishes, spelled as it spells them (``cancelled`` normalised)."""

    QUEUED = "queued"
    DISPATCHING = "dispatching"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL_SUCCEEDED = "partial_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ERRORED = "errored"


TERMINAL = frozenset({Status.SUCCEEDED, Status.PARTIAL_SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.ERRORED})
"""States after which nothing changes: polling can stop."""

BATCH_FAILURES = frozenset({Status.FAILED, Status.CANCELLED, Status.ERRORED})
"""Terminal batch states in which the batch as a whole did not produce its outputs."""


def normalize_status(value: str | None) -> str | None:
    """Lower-case ``value`` and fold the ``canceled`` spelling into ``cancelled``."""
    if value is None:
        return None
    folded = value.strip().lower()
    return Status.CANCELLED.value if folded == "canceled" else folded


def is_terminal(value: str | None) -> bool:
    """Whether ``value`` is a known terminal state; unknown and missing states are not."""
    return normalize_status(value) in {s.value for s in TERMINAL}
