"""Result collection: items of finished batches in input order, as a list and streamed to JSONL."""

from __future__ import annotations

import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_runflow.batching.results import ITEM_FIELDS
from airflow_provider_runflow.client import build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from benchmarks.operator_support import client_of, context, use_emulator, wait_event


def bare_loop(emu: RunflowEmulator, batch_ids: list[str]) -> list[dict[str, Any]]:
    """The floor: httpx, follow ``next`` at 500 items a page, keep the rows; no provider code."""
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as client:
        for batch_id in batch_ids:
            params = {"limit": "500", "fields": ITEM_FIELDS}
            for _ in range(1000):
                page = client.get(f"/v1/batches/{batch_id}/items", params=params).json()
                rows.extend(page["items"])
                if not page.get("next") or not page["items"]:
                    break
                params = {**params, "pq": page["next"]}
    return rows


def _measure(run: Callable[[], Any]) -> dict[str, float]:
    """Wall time of a plain run after a warm-up run (imports, fsspec), then the tracemalloc peak of another."""
    run()
    gc.collect()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 2)}


def _create(emu: RunflowEmulator, batches: int) -> list[str]:
    with client_of(emu) as client:
        ids = []
        for b in range(batches):
            inputs = [{"text": f"batch {b} input {i} " + "x" * 200, "client_ref": f"{b}-{i}"} for i in range(100)]
            batch = client.send(calls.create_batch("acme/test-model", build_batch_request(inputs)))
            ids.append(str(batch.id))
        return ids


def _collect(emu: RunflowEmulator, tmp: str, count: int) -> list[dict[str, Any]]:
    batch_ids = _create(emu, count)
    event = dict(wait_event(batch_ids))
    listing = RunflowBatchOperator(task_id="runflow", model="acme/test-model", inputs=[])
    path = str(Path(tmp) / "out.jsonl")
    streaming = RunflowBatchOperator(task_id="stream", model="acme/test-model", inputs=[], output_path=path)
    cases: dict[str, Callable[[], Any]] = {
        "bare httpx pagination loop": lambda: bare_loop(emu, batch_ids),
        "operator: returned list": lambda: listing.execute_complete(context(), event),
        "operator: output_path JSONL": lambda: streaming.execute_complete(context(), event),
    }
    return [{"case": name, "items": 100 * count, **_measure(run)} for name, run in cases.items()]


def run_collection(batches: tuple[int, ...] = (10, 100)) -> list[dict[str, Any]]:
    """Each size in batches of 100 items, finished before the clock starts; no emulated latency."""
    with (
        RunflowEmulator(time_scale=0.01, run_seconds=(0.2, 0.5), queue_seconds=0.0) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        use_emulator(emu)
        return [row for count in batches for row in _collect(emu, tmp, count)]
