"""Triggerer capacity, measured: N deferred tasks on 2-minute batches held by one event loop, beside the limit.

The parent starts the emulator shards (every answer after ``latency``), then runs each (round,
peer) in a fresh child (:mod:`benchmarks.deferred`): it creates the batches the child's slots ask
for (100 items ending evenly over ``batch_seconds``: steady progress, the adaptive pacing's first
model) and reads the emulators' counters every second. *Intended* polls are the looks an ideal
loop takes at each batch given out (the real ``BatchTracker`` on the modelled batch, see
:func:`benchmarks.pacing.looks_at`) that fall in the window; *polls* are the ``GET
/v1/batches/{id}`` the emulators answered 200 in it. Rounds alternate which peer goes first; the
emulators forget every batch between cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.deferred import FIRST_LOOK, LIMIT, OURS, DeferredCase
from benchmarks.emulators import ROOT, Shards, shards
from benchmarks.pacing import ModelBatch, looks_at
from benchmarks.triggers import ROUTE


@dataclass(frozen=True)
class CapacitySettings:
    n: int = 10_000
    peers: tuple[str, ...] = (OURS, LIMIT)
    rounds: int = 3
    batch_seconds: float = 120.0
    items: int = 100
    latency: float = 0.1
    settle: float = 10.0
    """Seconds after the last slot started (one batch duration in) before the window opens."""
    window: float = 120.0
    emulators: int = 2
    """Emulator processes the batches are dealt over: one cannot answer ~900 polls/s and create ~80 batches/s."""


@dataclass
class Counters:
    """The emulators' answers to polls and their CPU, sampled every second by the parent."""

    at: list[float]
    polls: list[int]
    other: list[int]
    emulator_cpu: list[float]

    def value(self, series: list[Any], moment: float) -> float:
        """``series`` at ``moment``, interpolated between the samples around it."""
        for k in range(1, len(self.at)):
            if self.at[k] >= moment:
                share = (moment - self.at[k - 1]) / (self.at[k] - self.at[k - 1])
                return float(series[k - 1] + share * (series[k] - series[k - 1]))
        return float(series[-1])

    def between(self, series: list[Any], t0: float, t1: float) -> float:
        return self.value(series, t1) - self.value(series, t0)


async def _sample(client: httpx.AsyncClient, sh: Shards, counters: Counters) -> None:
    processes = [psutil.Process(pid) for pid in sh.pids]
    while True:
        ok = other = 0
        for emu in sh.emulators:
            counts = (await client.get(f"{emu.url}/_emulator/counters")).json()["requests"].get(ROUTE, {})
            ok += counts.get("200", 0)
            other += sum(v for k, v in counts.items() if k != "200")
        cpu = sum(t.user + t.system for t in (p.cpu_times() for p in processes))
        counters.at.append(time.time())
        counters.polls.append(ok)
        counters.other.append(other)
        counters.emulator_cpu.append(cpu)
        await asyncio.sleep(1.0)


class BatchMaker:
    """Creates the batches a child asks for, and hands each back on its stdin."""

    def __init__(self, client: httpx.AsyncClient, sh: Shards, settings: CapacitySettings, child: Any) -> None:
        self.client, self.sh, self.child = client, sh, child
        items = [{"text": f"item {k}", "run_seconds": settings.batch_seconds * (k + 1) / settings.items}
                 for k in range(settings.items)]  # fmt: skip
        self.body = json.dumps({"input": items}).encode()
        self.gate = asyncio.Semaphore(64)
        self.failed = 0
        self.pending: set[asyncio.Task[None]] = set()

    def ask(self, slot: int) -> None:
        task = asyncio.ensure_future(self._make(slot))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _make(self, slot: int) -> None:
        shard = slot % len(self.sh.emulators)
        url = f"{self.sh.emulators[shard].url}/v1/models/acme/test-model/batches"
        try:
            async with self.gate:
                response = await self.client.post(url, content=self.body, headers={"Content-Type": "application/json"})
            batch = response.raise_for_status().json()
        except httpx.HTTPError:  # the slot stays empty: it shows as fewer waits held
            self.failed += 1
            return
        created = datetime.fromisoformat(batch["created_at"].replace("Z", "+00:00")).timestamp()
        self.child.stdin.write(f"{slot} {shard} {batch['id']} {created}\n".encode())


async def _run_case(case: DeferredCase, sh: Shards, settings: CapacitySettings) -> dict[str, Any]:
    stderr = Path(os.environ.get("TMPDIR", "/tmp")) / "runflow-bench-deferred.stderr"
    with stderr.open("wb") as errors:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.deferred", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=errors, env=sh.child_env(), cwd=ROOT, limit=1 << 24,
        )  # fmt: skip
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(json.dumps(asdict(case)).encode() + b"\n")
        counters = Counters([], [], [], [])
        result: dict[str, Any] | None = None
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {sh.api_key}"}, timeout=60) as client:
            maker = BatchMaker(client, sh, settings, child)
            sampler = asyncio.ensure_future(_sample(client, sh, counters))
            async for line in child.stdout:  # the trigger's log lines come this way too: skipped
                if line.startswith(b"NEED "):
                    maker.ask(int(line[5:]))
                elif line.startswith(b"RESULT "):
                    result = json.loads(line[7:])
            await child.wait()
            sampler.cancel()
            for task in maker.pending:  # batches asked for as the child stopped: nobody waits on them
                task.cancel()
            await asyncio.gather(*maker.pending, return_exceptions=True)
    if result is None:
        raise RuntimeError(f"benchmarks.deferred failed ({child.returncode}): {stderr.read_text()[-2000:]}")
    return _row(result, counters, maker.failed)


def _row(result: dict[str, Any], counters: Counters, failed: int) -> dict[str, Any]:
    t0, t1 = result.pop("t0"), result.pop("t1")
    polls = round(counters.between(counters.polls, t0, t1))
    per_second = [
        (round(at - t0, 1), after - before)
        for at, before, after in zip(counters.at[1:], counters.polls, counters.polls[1:], strict=False)
        if t0 <= at <= t1
    ]
    return {
        **{k: v for k, v in result.items() if k not in ("lag", "intended_per_s")},
        "window_s": round(t1 - t0, 1),
        "polls": polls,
        "polls_pct": round(100 * polls / result["intended"], 1) if result["intended"] else 0.0,
        "cpu_ms_per_poll": round(1000 * result["cpu_s"] / polls, 3) if polls else None,
        "errors": round(counters.between(counters.other, t0, t1)) + failed + result["not_success"],
        "emulator_cpu_pct": round(100 * counters.between(counters.emulator_cpu, t0, t1) / (t1 - t0), 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "series": {
            "polls_per_s": per_second,
            "intended_per_s": result["intended_per_s"],
            "lag_ms": [(round(at - t0), ms) for at, ms in result["lag"]],
        },
    }


def run_capacity(settings: CapacitySettings, log: Any = print) -> dict[str, Any]:
    """Every (round, peer) case's row, and the ideal looks at one batch they were measured against."""
    model = ModelBatch(settings.batch_seconds, 1.0, seed=None, items=settings.items)
    looks = looks_at(model, "adaptive", settings.latency, first=FIRST_LOOK + settings.latency)
    rows = []
    with shards(settings.emulators, settings.latency) as sh:
        for round_ in range(settings.rounds):
            for peer in settings.peers if round_ % 2 == 0 else settings.peers[::-1]:
                for emu in sh.emulators:
                    emu.reset()
                urls = [emu.url for emu in sh.emulators]
                case = DeferredCase(
                    peer, settings.n, sh.api_key, urls, settings.items, settings.batch_seconds, settings.settle,
                    settings.window, looks, settings.latency,
                )  # fmt: skip
                row = {"round": round_ + 1, **asyncio.run(_run_case(case, sh, settings))}
                log({k: v for k, v in row.items() if k != "series"})
                rows.append(row)
    return {"settings": asdict(settings), "looks": [round(look, 2) for look in looks], "rows": rows}


SMOKE = CapacitySettings(n=50, rounds=1, batch_seconds=2.0, items=10, settle=0.5, window=2.0, emulators=1)
"""CI's size: every part runs, in seconds; figures not asserted."""
