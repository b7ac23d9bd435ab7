"""Emulator shards for the benchmarks: each its own process and port; a batch lives in one shard."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

from airflow_provider_runflow.emulator import RunflowEmulator

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Shards:
    emulators: list[RunflowEmulator]
    pids: list[int]

    @property
    def api_key(self) -> str:
        return self.emulators[0].api_key

    def create_batches(self, count: int, items: int) -> list[tuple[str, str, int]]:
        """``count`` batches of ``items`` long-running items, dealt round-robin over the shards.

        Created 64 at a time: each answer waits out the emulated latency.
        """
        return asyncio.run(self._create(count, items))

    async def _create(self, count: int, items: int) -> list[tuple[str, str, int]]:
        body = {"input": [{"text": f"item {i}"} for i in range(items)]}
        gate = asyncio.Semaphore(64)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.api_key}"}, timeout=60) as client:

            async def create(i: int) -> tuple[str, str, int]:
                emu = self.emulators[i % len(self.emulators)]
                async with gate:
                    response = await client.post(f"{emu.url}/v1/models/acme/test-model/batches", json=body)
                response.raise_for_status()
                return emu.url, str(response.json()["id"]), i % len(self.emulators)

            return list(await asyncio.gather(*(create(i) for i in range(count))))

    def child_env(self) -> dict[str, str]:
        """Connections ``runflow_<shard>`` and ``http_runflow_<shard>``, and a throwaway AIRFLOW_HOME."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AIRFLOW_HOME": tempfile.gettempdir() + "/runflow-bench-home"}
        env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        for shard, emu in enumerate(self.emulators):
            url = urlsplit(emu.url)
            env[f"AIRFLOW_CONN_RUNFLOW_{shard}"] = emu.connection_json()
            http = {"conn_type": "http", "host": url.hostname, "port": url.port, "schema": "http"}
            env[f"AIRFLOW_CONN_HTTP_RUNFLOW_{shard}"] = json.dumps(http)
        return env


@contextmanager
def shards(count: int, latency: float, run_seconds: float = 7200.0) -> Iterator[Shards]:
    """``count`` emulators answering after ``latency`` seconds, with items that run ``run_seconds`` (two hours)."""
    with ExitStack() as stack:
        before = {p.pid for p in psutil.Process().children()}
        emulators = [
            stack.enter_context(RunflowEmulator(run_seconds=run_seconds, latency=latency, queue_seconds=0.0))
            for _ in range(count)
        ]
        pids = [p.pid for p in psutil.Process().children() if p.pid not in before]
        yield Shards(emulators, pids)


def run_child(
    module: str, argument: str, env: dict[str, str], timeout: float, args: Sequence[str] = ()
) -> dict[str, object]:
    """Run ``python -m module *args`` with ``argument`` on stdin (too long for argv) and return its ``RESULT`` JSON."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, input=argument, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, object] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"{module} failed ({done.returncode}): {done.stderr[-2000:]}")
