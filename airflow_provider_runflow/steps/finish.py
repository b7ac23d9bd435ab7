"""Finishing a task once its batches are over: the summary, the budget, the failure policy, the media check.

One straight path for the operator and the sensor, deferred or blocking: each collects what it
returns (the operator its entries, the sensor the batches' counts), then hands the values here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow.providers.common.compat.sdk import Context

from airflow_provider_runflow.batching.failures import describe_failures
from airflow_provider_runflow.batching.outcome import items_failed_error, summarize
from airflow_provider_runflow.batching.policy import FailurePolicy
from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client import RunflowError


@dataclass(frozen=True)
class Collected:
    """What a task gathered from its finished batches."""

    value: Any
    """What the task returns; None: its summary."""
    tally: Tally
    media_error: RunflowError | None = None
    """Media that could not be stored: raised only if the failure policy passed."""
    max_cost: Decimal | None = None
    budget_error: RunflowError | None = None
    """Inputs the spend guard skipped (``on_budget="fail"``): raised once the summary is out."""
    reviews: list[dict[str, Any]] | None = None
    """With a review: every decision so far, who and when (``batching.review.Decision`` as JSON)."""


def finish(
    context: Context,
    states: list[BatchState],
    collected: Collected,
    policy: FailurePolicy,
    started_at: float | None,
    log: Any,
) -> tuple[Any, dict[str, Any]]:
    """Publish the ``summary`` XCom, then apply the budget, the failure policy and the media check, in that order."""
    tally = collected.tally
    seconds = time.time() - started_at if started_at else 0.0
    summary = summarize(tally, states, seconds, collected.max_cost)
    if collected.reviews is not None:
        summary["review"] = collected.reviews
    context["ti"].xcom_push(key="summary", value=summary)
    log.info("Runflow summary: %s", summary)
    if collected.budget_error is not None:
        log.error("%s", collected.budget_error)
        raise collected.budget_error
    if violation := policy.violation(tally.not_succeeded, tally.total):
        error = items_failed_error(violation, tally)
        log.error("%s", error)
        raise error
    if tally.not_succeeded:
        named = describe_failures(tally.failed, tally.not_succeeded)
        log.warning(
            "%d of %d items did not succeed (the failure policy allows it):\n%s",
            tally.not_succeeded,
            tally.total,
            named,
        )
    if collected.media_error is not None:
        raise collected.media_error
    return (summary if collected.value is None else collected.value), summary
