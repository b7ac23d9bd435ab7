"""Finishing a task once its batches are over: the summary, the failure policy, the media check, the result.

One straight path for the operator and the sensor, deferred or blocking: each collects what it
returns (the operator its entries, the sensor the batches' counts), then hands the values here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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
    after_policy: RunflowError | None = None
    """A failure to raise only if the failure policy passed (media that could not be stored)."""


def finish(
    context: Context,
    states: list[BatchState],
    collected: Collected,
    policy: FailurePolicy,
    started_at: float | None,
    log: Any,
) -> tuple[Any, dict[str, Any]]:
    """Publish the ``summary`` XCom, apply the failure policy, then the collected check; the result and summary."""
    summary = summarize(collected.tally, states, time.time() - started_at if started_at else 0.0)
    context["ti"].xcom_push(key="summary", value=summary)
    log.info("Runflow summary: %s", summary)
    tally = collected.tally
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
    if collected.after_policy is not None:
        raise collected.after_policy
    return (summary if collected.value is None else collected.value), summary
