"""Waiting for batches from a worker, and turning how a wait ended into an Airflow outcome."""

from __future__ import annotations

import time
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import RunflowClient, RunflowError

DEFER_GRACE = 300.0
"""Seconds the deferral timeout waits past the trigger's own deadline: only a backstop."""


def to_airflow_error(err: RunflowError, retry_can_help: bool = True) -> AirflowException:
    """The Airflow exception for a Runflow outcome; fail without retries where a retry would change nothing."""
    return AirflowException(str(err)) if retry_can_help else AirflowFailException(str(err))


def wait_blocking(client: RunflowClient, tracker: BatchTracker, poll_interval: float, log: Any) -> BatchEvent:
    """The blocking twin of :meth:`RunflowBatchTrigger.run`: same tracker, sync fetches and sleeps."""
    while True:
        for batch_id in tracker.pending():
            try:
                tracker.observe(batch_id, client.poll_batch(batch_id))
            except RunflowError as err:
                tracker.observe(batch_id, err)
        now = time.time()
        if line := tracker.progress(now):
            log.info(line)
        if event := tracker.outcome(now):
            return event
        time.sleep(max(0.0, min(poll_interval, tracker.deadline - now)))
