"""Drive RunflowBatchOperator in-process, outside a scheduler: a minimal task-instance context."""

from __future__ import annotations

import os
import time
from typing import Any

from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import ClientConfig, RunflowClient
from airflow_provider_runflow.emulator import RunflowEmulator


class FakeTI:
    dag_id, task_id, run_id, map_index = "bench", "runflow", "bench_run", -1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context() -> dict[str, Any]:
    return {"ti": FakeTI()}


def use_emulator(emu: RunflowEmulator) -> None:
    """Point ``runflow_default`` at ``emu`` (this process only)."""
    os.environ["AIRFLOW_CONN_RUNFLOW_DEFAULT"] = emu.connection_json()


def client_of(emu: RunflowEmulator) -> RunflowClient:
    return RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url))


def wait_event(client: RunflowClient, batch_ids: list[str], timeout: float = 300.0) -> BatchEvent:
    """Poll until every batch is terminal; the same event the trigger would send."""
    tracker = BatchTracker(batch_ids, time.time() + timeout)
    for _ in range(int(timeout / 0.2)):
        for batch_id in tracker.pending():
            tracker.observe(batch_id, client.get_batch(batch_id))
        if event := tracker.outcome(time.time()):
            return event
        time.sleep(0.2)
    raise TimeoutError("batches did not finish")
