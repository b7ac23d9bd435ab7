"""Trigger scale: N concurrent pollers in one event loop, each case in a fresh process.

The parent starts the emulator(s) and creates the batches; each (peer, N) runs in a child
process (``python -m benchmarks.triggers``, the case as JSON on stdin) so its CPU time and RSS are its own.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import psutil

from benchmarks.common import MIB, FullCollections, LoopLag, cpu_seconds, rss
from benchmarks.peers import ERRORS, PEERS, Plan, Target

ROUTE = "GET /v1/batches/{id}"


@dataclass(frozen=True)
class Case:
    peer: str
    n: int
    api_key: str
    interval: float
    latency: float
    warmup: float
    window: float
    targets: list[tuple[str, str, int]]
    emulator_pids: list[int]


def _polls(urls: list[str]) -> tuple[int, int]:
    """(200 answers, other answers) of the poll route, summed over the emulator shards."""
    ok = other = 0
    for url in urls:
        counts = httpx.get(f"{url}/_emulator/counters", timeout=30).json()["requests"].get(ROUTE, {})
        ok += counts.get("200", 0)
        other += sum(v for k, v in counts.items() if k != "200")
    return ok, other


def _emulator_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def _preload(peer: str) -> None:
    """Import what a peer needs before the RSS baseline, so RSS per trigger is the triggers' own."""
    import aiohttp  # noqa: F401
    from airflow.providers.http.triggers.http import HttpEventTrigger  # noqa: F401

    from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger  # noqa: F401


async def run_case(case: Case) -> dict[str, Any]:
    plan = Plan(case.api_key, case.interval, tuple(Target(*t) for t in case.targets))
    urls = sorted({t.url for t in plan.targets})
    _preload(case.peer)
    gc.collect()
    rss0 = rss()
    lag, collections = LoopLag(), FullCollections()
    loops, close = await PEERS[case.peer](plan)
    tasks = [asyncio.ensure_future(c) for c in [lag.run(), *loops]]
    await asyncio.sleep(case.warmup)
    (ok0, other0), cpu0, emu0, t0 = _polls(urls), cpu_seconds(), _emulator_cpu(case.emulator_pids), time.monotonic()
    errors0, lag.recording, collections.recording = ERRORS[0], True, True
    await asyncio.sleep(case.window)
    lag.recording = collections.recording = False
    elapsed, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    emulator_cpu = _emulator_cpu(case.emulator_pids) - emu0
    ok1, other1 = _polls(urls)
    rss1 = rss()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close()
    polls = ok1 - ok0
    intended = case.n * elapsed / (case.interval + case.latency)
    return {
        "peer": case.peer,
        "n": case.n,
        "window_s": round(elapsed, 2),
        "polls": polls,
        "intended": round(intended, 1),
        "polls_pct": round(100 * polls / intended, 1) if intended else 0.0,
        "errors": (other1 - other0) + (ERRORS[0] - errors0),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_poll": round(1000 * cpu / polls, 3) if polls else None,
        "cpu_pct": round(100 * cpu / elapsed, 1),
        "emulator_cpu_pct": round(100 * emulator_cpu / elapsed, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine may be shared: see the notes
        "python": platform.python_version(),
        "rss_mib": round(rss1 / MIB, 1),
        "rss_delta_mib": round((rss1 - rss0) / MIB, 1),
        "rss_kib_per_trigger": round((rss1 - rss0) / 1024 / case.n, 1),
        **{k: round(v, 2) for k, v in (lag.summary() | collections.summary()).items()},
    }


def _raise_open_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    case = Case(**json.loads(sys.stdin.read()))
    _raise_open_files()
    result = asyncio.run(run_case(case))
    print("RESULT " + json.dumps(result), flush=True)


def case_json(case: Case) -> str:
    return json.dumps(asdict(case))


if __name__ == "__main__":
    main()
