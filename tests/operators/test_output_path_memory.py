"""output_path streams results: memory stays flat as the number of items grows, unlike the returned list."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import build_batch_request, calls
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

TEXT = "x" * 4000  # each output echoes ~4 KB


class RecordingTI:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def finished_batches(count: int) -> tuple[list[str], dict[str, Any]]:
    hook = RunflowHook()
    with hook.get_conn() as client:
        inputs = [{"text": TEXT, "run_seconds": 0.05} for _ in range(100)]
        ids = [
            client.send(calls.create_batch("acme/test-model", build_batch_request(inputs))).id or ""
            for _ in range(count)
        ]
    event = hook.wait(BatchTracker(ids, time.time() + 60, expected_items=[100] * count), 0.1)
    return ids, dict(event)


def peak_bytes(batches: int, output_path: str | None) -> tuple[int, Any]:
    _, event = finished_batches(batches)
    operator = RunflowBatchOperator(task_id="t", model="acme/test-model", inputs=[{}], output_path=output_path)
    ti = RecordingTI()
    tracemalloc.start()
    try:
        value = operator.execute_complete({"ti": ti}, event)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ti.xcom["summary"]["succeeded"] == 100 * batches
    return peak, value


@pytest.mark.usefixtures("runflow_connection")
def test_streaming_memory_does_not_grow_with_items_while_the_list_does(tmp_path: Path) -> None:
    small, _ = peak_bytes(2, f"file://{tmp_path}/small.jsonl")
    large, manifest = peak_bytes(10, f"file://{tmp_path}/large.jsonl")
    listed_small, _ = peak_bytes(2, None)
    listed_large, entries = peak_bytes(10, None)

    assert manifest["items"] == 1000
    lines = (tmp_path / "large.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(1000))
    assert len(entries) == 1000
    # 800 more items of ~4 KB: the list holds them all (~3+ MB more), the stream only one batch.
    assert listed_large - listed_small > 3_000_000
    assert large - small < 1_000_000
