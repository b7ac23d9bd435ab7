"""Best-effort cancellation of batches' unfinished runs (Runflow has no public batch cancel).

Only service keys (``rf_svc_*``) may call the admin run-cancellation endpoint.
Everything here logs and never raises: a kill must not fail because of it.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_runflow.client import AsyncRunflowClient, Batch, RunflowClient, RunflowError, is_terminal

SERVICE_KEY_PREFIX = "rf_svc_"
REASON = "Cancelled from Apache Airflow: the task was killed"


def unfinished_runs(batch: Batch) -> list[str]:
    """Run ids of a batch's items that are not terminal yet."""
    return [item.run_id for item in batch.items or [] if item.run_id and not is_terminal(item.status_code)]


def _may_cancel(api_key: str, log: logging.Logger | Any) -> bool:
    if api_key.startswith(SERVICE_KEY_PREFIX):
        return True
    log.warning("cancel_on_kill needs a Runflow service key (rf_svc_*); the batches keep running")
    return False


def cancel_batches(client: RunflowClient, batch_ids: list[str], log: logging.Logger | Any) -> int:
    """Cancel the unfinished runs of ``batch_ids``; returns how many runs were cancelled."""
    if not _may_cancel(client.config.api_key, log):
        return 0
    cancelled = 0
    for batch_id in batch_ids:
        try:
            for run_id in unfinished_runs(client.get_batch(batch_id)):
                client.cancel_run(run_id, REASON)
                cancelled += 1
        except RunflowError as err:
            log.warning("Could not cancel the runs of Runflow batch %s: %s", batch_id, err)
    log.info("Cancelled %d unfinished Runflow runs of batches %s", cancelled, batch_ids)
    return cancelled


async def acancel_batches(client: AsyncRunflowClient, batch_ids: list[str], log: logging.Logger | Any) -> int:
    """Async :func:`cancel_batches`, for the trigger's ``on_kill``."""
    if not _may_cancel(client.config.api_key, log):
        return 0
    cancelled = 0
    for batch_id in batch_ids:
        try:
            for run_id in unfinished_runs(await client.get_batch(batch_id)):
                await client.cancel_run(run_id, REASON)
                cancelled += 1
        except RunflowError as err:
            log.warning("Could not cancel the runs of Runflow batch %s: %s", batch_id, err)
    log.info("Cancelled %d unfinished Runflow runs of batches %s", cancelled, batch_ids)
    return cancelled
