"""Reading a wait's final event: the errors a finished wait can end in, and the run's summary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from airflow_provider_runflow.batching.failures import describe_failures
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.status import BATCH_FAILURES, normalize_status


class RunflowWaitError(RunflowError):
    """Polling ended without an answer: credentials, a vanished batch, or repeated failures."""


class RunflowDeadlineError(RunflowError):
    """The deadline passed with batches still running on Runflow (named in the message)."""


class RunflowBatchFailedError(RunflowError):
    """Runflow ended a batch as failed, errored or cancelled; the message carries its failure code."""


class RunflowItemsFailedError(RunflowError):
    """More items failed than the failure policy allows."""


def finished_batches(event: dict[str, Any], *, judge_items: bool = False) -> list[BatchState]:
    """The batches of a final event, or the error that event stands for.

    ``judge_items`` (failed items are re-run): a batch that failed because its items did is
    left to the failure policy, which then sees the items' last attempts.
    """
    status, message = event.get("status"), str(event.get("message", ""))
    if status == "timeout":
        raise RunflowDeadlineError(message)
    if status != "success":
        raise RunflowWaitError(message or f"Unexpected event {event!r}")
    states = [BatchState.from_json(b) for b in event.get("batches", [])]
    failed = [
        s
        for s in states
        if normalize_status(s.status) in {f.value for f in BATCH_FAILURES} and not (judge_items and s.settled)
    ]
    if failed:
        details = "; ".join(
            f"batch {s.batch_id} {s.status}: {s.failure_code or 'no failure code'}"
            f"{f' ({s.failure_message})' if s.failure_message else ''}"
            for s in failed
        )
        raise RunflowBatchFailedError(f"{len(failed)} of {len(states)} Runflow batches did not succeed: {details}")
    return states


def summarize(
    tally: Tally, states: list[BatchState], seconds: float, max_cost: Decimal | None = None
) -> dict[str, Any]:
    """The ``summary`` XCom of the operator and the sensor: counts by outcome, cost (and budget), batches, duration."""
    return {
        **tally.counts(),
        "cost": str(tally.cost),
        "max_cost": None if max_cost is None else str(max_cost),
        "batch_ids": [s.batch_id for s in states],
        "statuses": {s.batch_id: s.status for s in states},
        "duration_seconds": round(seconds, 3),
        "failed_items": tally.failed,
        **_rounds(tally.rounds),
    }


def _rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """With re-runs: each round's counts, and the cost of all rounds (failed attempts may cost too)."""
    if not rounds:
        return {}
    return {"rounds": rounds, "cost": str(sum((Decimal(r["cost"]) for r in rounds), Decimal(0)))}


def items_failed_error(violation: str, tally: Tally) -> RunflowItemsFailedError:
    """The policy violation, naming the failed items and their errors."""
    named = describe_failures(tally.failed, tally.not_succeeded)
    return RunflowItemsFailedError(f"{violation}. Failed items:\n{named}" if named else violation)
