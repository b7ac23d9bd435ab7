"""Best-effort cancellation of batches' unfinished runs, as one exchange (Runflow has no public batch cancel).

Only service keys (``rf_svc_*``) may call the admin run-cancellation endpoint.
Nothing here raises a Runflow error: a kill must not fail because of it. Both the
operator's blocking ``on_kill`` and the trigger's send this exchange.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_runflow.client import calls
from airflow_provider_runflow.client.calls import Exchange
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.models import Batch
from airflow_provider_runflow.client.status import is_terminal

SERVICE_KEY_PREFIX = "rf_svc_"
REASON = "Cancelled from Apache Airflow: the task was killed"


def unfinished_runs(batch: Batch) -> list[str]:
    """Run ids of a batch's items that are not terminal yet."""
    return [item.run_id for item in batch.items or [] if item.run_id and not is_terminal(item.status_code)]


def may_cancel(api_key: str, log: logging.Logger | Any) -> bool:
    """Whether ``api_key`` is a service key, the only kind Runflow lets cancel runs; says so when not."""
    if api_key.startswith(SERVICE_KEY_PREFIX):
        return True
    log.warning("cancel_on_kill needs a Runflow service key (rf_svc_*); the batches keep running")
    return False


def cancel_batches(batch_ids: list[str], log: logging.Logger | Any) -> Exchange[int]:
    """Cancel the unfinished runs of ``batch_ids``; returns how many runs were cancelled."""
    cancelled = 0
    for batch_id in batch_ids:
        try:
            batch = yield calls.get_batch(batch_id)
            for run_id in unfinished_runs(batch):
                yield calls.cancel_run(run_id, REASON)
                cancelled += 1
        except RunflowError as err:
            log.warning("Could not cancel the runs of Runflow batch %s: %s", batch_id, err)
    log.info("Cancelled %d unfinished Runflow runs of batches %s", cancelled, batch_ids)
    return cancelled
