"""Triggerer capacity, the child: N deferred tasks' waits on one event loop, each replaced when its batch ends.

Run by :mod:`benchmarks.capacity` (``python -m benchmarks.deferred``): the case comes as the first
line of stdin; each slot asks for a batch (``NEED <slot>`` on stdout) and gets ``<slot> <shard>
<batch id> <created_at>`` back from the parent, which creates it, so that creating batches costs
this process nothing. A slot starts its poller half a second after the batch's creation and, once
the poller has seen the batch end, asks for the next: N waits at all times, as a triggerer holding N
deferred tasks whose batches end while others defer. Slots start evenly over one batch duration,
so that the batches' ages are spread as a steady stream of tasks spreads them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from benchmarks.common import MIB, FullCollections, LoopLag, cpu_seconds, percentile, rss
from benchmarks.storm import TERMINAL
from benchmarks.triggers import _preload

if TYPE_CHECKING:
    from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

OURS = "runflow-trigger (aiohttp transport)"
LIMIT = "limit: bare aiohttp"
FIRST_LOOK = 0.5
"""Seconds from a batch's creation to its poller's start, as the adaptive-polling model has it."""


@dataclass(frozen=True)
class DeferredCase:
    peer: str
    n: int
    api_key: str
    urls: list[str]
    items: int
    batch_seconds: float
    settle: float
    window: float
    looks: list[float]
    """When an ideal poll loop looks at a batch, seconds after its creation (its server-side view, latency included)."""
    latency: float


@dataclass(frozen=True, slots=True)
class NewBatch:
    shard: int
    batch_id: str
    created: float


Waiter = Callable[[NewBatch], Awaitable[str]]


def deferred_trigger(batch_id: str, shard: int, created: float, items: int) -> RunflowBatchTrigger:
    """The trigger as ``RunflowBatchOperator`` defers on one batch: adaptive polling, the items it expects, its
    rounds as ``carry``; built from its arguments, as a triggerer builds it from the ones it stored."""
    from airflow_provider_runflow.batching.rounds import Round, RunState
    from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

    return RunflowBatchTrigger(
        batch_ids=[batch_id],
        deadline=created + 86_400,
        runflow_conn_id=f"runflow_{shard}",
        poll_interval="adaptive",
        expected_items=[items],
        carry=RunState(created, [Round(0, [batch_id], [items])]).to_json(),
        resume_after=time.time() + 10,
    )


def _ours(case: DeferredCase) -> tuple[Waiter, Callable[[], Awaitable[None]]]:
    async def wait(batch: NewBatch) -> str:
        trigger = deferred_trigger(batch.batch_id, batch.shard, batch.created, case.items)
        async for event in trigger.run():
            return str(event.payload["status"])
        return "no event"

    async def close() -> None:
        return None

    return wait, close


def _limit(case: DeferredCase) -> tuple[Waiter, Callable[[], Awaitable[None]]]:
    """Bare aiohttp polling at the ideal loop's times, reading and decoding every body, nothing else."""
    import aiohttp

    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {case.api_key}", "Accept": "application/json"})
    sends = [look - case.latency for look in case.looks]

    async def ended(url: str) -> bool:
        """One poll; nothing of it outlives the call (a decoded body kept across the sleep is a hundred objects)."""
        async with session.get(url) as response:
            return response.status == 200 and json.loads(await response.read())["status_code"] in TERMINAL

    async def wait(batch: NewBatch) -> str:
        url = f"{case.urls[batch.shard]}/v1/batches/{batch.batch_id}"
        for k in range(10_000):
            due = batch.created + (sends[k] if k < len(sends) else sends[-1] + 1.5 * (k - len(sends) + 1))
            await asyncio.sleep(max(0.0, due - time.time()))
            if await ended(url):
                return "success"
        return "no end seen"

    return wait, session.close


PEERS = {OURS: _ours, LIMIT: _limit}


@dataclass
class Slots:
    """The N slots, and the window's tallies: kept as counts and floats, so that the harness adds little to RSS."""

    case: DeferredCase
    t0: float
    t1: float
    parent: TextIO
    """Where the slots ask for batches (see ``_logs_aside``)."""
    asked: dict[int, asyncio.Future[NewBatch]] = field(default_factory=dict)
    held: int = 0
    intended: list[int] = field(default_factory=list)
    """The ideal loop's looks at the batches given out, in each second of the window."""
    delays: list[float] = field(default_factory=list)
    """Of the waits that ended in the window: from the batch's end to the wait's."""
    failed: int = 0

    def __post_init__(self) -> None:
        self.intended = [0] * math.ceil(self.t1 - self.t0)

    def answer(self, line: str) -> None:
        slot, shard, batch_id, created = line.split()
        batch = NewBatch(int(shard), batch_id, float(created))
        for look in self.case.looks:
            if self.t0 <= batch.created + look < self.t1:
                self.intended[int(batch.created + look - self.t0)] += 1
        self.asked.pop(int(slot)).set_result(batch)

    async def run(self, slot: int, start: float, wait: Waiter) -> None:
        await asyncio.sleep(max(0.0, start - time.time()))
        while True:
            self.asked[slot] = future = asyncio.get_running_loop().create_future()
            self.parent.write(f"NEED {slot}\n")
            self.parent.flush()
            batch = await future
            await asyncio.sleep(max(0.0, batch.created + FIRST_LOOK - time.time()))
            self.held += 1
            try:
                status = await wait(batch)
            except Exception as err:  # counted, never fatal: the slot goes on with a new batch
                status = type(err).__name__
            self.held -= 1
            if self.t0 <= (now := time.time()) < self.t1:
                self.delays.append(now - batch.created - self.case.batch_seconds)
                self.failed += status != "success"


async def _answers(slots: Slots, reader: asyncio.StreamReader) -> None:
    while line := (await reader.readline()).decode():
        slots.answer(line)


async def _held(slots: Slots, samples: list[int]) -> None:
    """Waits held, every second of the window."""
    await asyncio.sleep(max(0.0, slots.t0 - time.time()))
    while True:
        samples.append(slots.held)
        await asyncio.sleep(1.0)


def _summary(case: DeferredCase, slots: Slots) -> dict[str, Any]:
    return {
        "finished": len(slots.delays),
        "not_success": slots.failed,
        "delay_p50_s": round(percentile(slots.delays, 0.5), 2),
        "delay_p99_s": round(percentile(slots.delays, 0.99), 2),
        "ideal_delay_s": round(case.looks[-1] - case.batch_seconds, 2),
    }


async def run_case(case: DeferredCase, reader: asyncio.StreamReader, parent: TextIO) -> dict[str, Any]:
    _preload(case.peer)
    gc.collect()
    rss0 = rss()
    lag, collections = LoopLag(), FullCollections()
    wait, close = PEERS[case.peer](case)
    start = time.time()
    slots = Slots(case, t0 := start + case.batch_seconds + case.settle, t0 + case.window, parent)
    held: list[int] = []
    helpers = [asyncio.ensure_future(c) for c in (lag.run(), _answers(slots, reader), _held(slots, held))]
    tasks = [asyncio.ensure_future(slots.run(i, start + case.batch_seconds * i / case.n, wait)) for i in range(case.n)]
    await asyncio.sleep(t0 - time.time())
    cpu0, lag.recording, collections.recording = cpu_seconds(), True, True
    await asyncio.sleep(slots.t1 - time.time())
    lag.recording = collections.recording = False
    t1, cpu, rss1 = time.time(), cpu_seconds() - cpu0, rss()
    for task in tasks + helpers:
        task.cancel()
    await asyncio.gather(*tasks, *helpers, return_exceptions=True)
    await close()
    return {
        "peer": case.peer,
        "n": case.n,
        "t0": t0,
        "t1": t1,
        "intended": sum(slots.intended),
        "intended_per_s": slots.intended,
        "held_mean": round(sum(held) / max(1, len(held))),
        "cpu_s": round(cpu, 3),
        "cpu_pct": round(100 * cpu / (t1 - t0), 1),
        "python": platform.python_version(),
        "rss_mib": round(rss1 / MIB, 1),
        "rss_kib_per_trigger": round((rss1 - rss0) / 1024 / case.n, 1),
        "lag": lag.timeline(),
        **{k: round(v, 2) for k, v in (lag.summary() | collections.summary()).items()},
        **_summary(case, slots),
    }


async def main() -> None:
    parent = _logs_aside()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    pipe, _ = await asyncio.get_running_loop().connect_read_pipe(lambda: protocol, sys.stdin)
    case = DeferredCase(**json.loads(await reader.readline()))
    result = await run_case(case, reader, parent)
    pipe.close()
    parent.write("RESULT " + json.dumps(result) + "\n")
    parent.flush()


def _logs_aside() -> TextIO:
    """The parent's end of stdout, for the asks and the result; the trigger's log lines go to /dev/null.

    Rendered as a triggerer renders them, then dropped: a parent busy reading hundreds of lines a
    second would block this process's writes, which a triggerer's log forwarding does not.
    """
    parent = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return parent


if __name__ == "__main__":
    asyncio.run(main())
