"""Reading a wait's final event: the errors a finished wait can end in, and the run's summary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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


def finished_batches(event: dict[str, Any]) -> list[BatchState]:
    """The batches of a final event, or the error that event stands for."""
    status, message = event.get("status"), str(event.get("message", ""))
    if status == "timeout":
        raise RunflowDeadlineError(message)
    if status != "success":
        raise RunflowWaitError(message or f"Unexpected event {event!r}")
    states = [BatchState.from_json(b) for b in event.get("batches", [])]
    failed = [s for s in states if normalize_status(s.status) in {f.value for f in BATCH_FAILURES}]
    if failed:
        details = "; ".join(
            f"batch {s.batch_id} {s.status}: {s.failure_code or 'no failure code'}"
            f"{f' ({s.failure_message})' if s.failure_message else ''}"
            for s in failed
        )
        raise RunflowBatchFailedError(f"{len(failed)} of {len(states)} Runflow batches did not succeed: {details}")
    return states


def summarize(results_counts: dict[str, int], cost: Decimal, batch_ids: list[str], seconds: float) -> dict[str, Any]:
    """The ``summary`` XCom: counts by outcome, total cost, batch ids and wall-clock duration."""
    return {
        "total": sum(results_counts.values()),
        "succeeded": results_counts.get("succeeded", 0),
        "failed": results_counts.get("failed", 0),
        "cancelled": results_counts.get("cancelled", 0),
        "other": sum(v for k, v in results_counts.items() if k not in ("succeeded", "failed", "cancelled")),
        "cost": str(cost),
        "batch_ids": batch_ids,
        "duration_seconds": round(seconds, 3),
    }
