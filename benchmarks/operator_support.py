"""Drive RunflowBatchOperator in-process, outside a scheduler: a minimal task-instance context."""

from __future__ import annotations

import os
import time
from typing import Any

from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import ClientConfig, RunflowClient
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.hooks.runflow import RunflowHook


class FakeTI:
    dag_id, task_id, run_id, map_index = "bench", "runflow", "bench_run", -1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value") -> Any:
        """What this task instance pushed: between retry rounds the operator reads its ``batch_ids`` back."""
        return self.xcoms.get(key)


def context() -> dict[str, Any]:
    return {"ti": FakeTI()}


def use_emulator(emu: RunflowEmulator) -> None:
    """Point ``runflow_default`` at ``emu`` (this process only)."""
    os.environ["AIRFLOW_CONN_RUNFLOW_DEFAULT"] = emu.connection_json()


def client_of(emu: RunflowEmulator) -> RunflowClient:
    return RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url))


def wait_event(batch_ids: list[str], timeout: float = 300.0) -> BatchEvent:
    """Poll until every batch (of 100 items) is terminal: the event the trigger would send."""
    tracker = BatchTracker(batch_ids, time.time() + timeout, expected_items=[100] * len(batch_ids))
    return RunflowHook().wait(tracker, poll_interval=0.2)
