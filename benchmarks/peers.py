"""Pollers of ``GET /v1/batches/{id}``: the provider's trigger and the peers it is measured against.

Every peer polls the same batches the same way: one loop per trigger that polls, then sleeps
``interval``. Each factory returns the loops to run and a coroutine that closes what they opened.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

Poll = Callable[[], Awaitable[None]]
Loops = tuple[list[Coroutine[Any, Any, None]], Callable[[], Awaitable[None]]]


@dataclass(frozen=True)
class Target:
    """One trigger's batch, on emulator shard ``shard`` at ``url``."""

    url: str
    batch_id: str
    shard: int

    @property
    def path(self) -> str:
        return f"/v1/batches/{self.batch_id}"


@dataclass(frozen=True)
class Plan:
    api_key: str
    interval: float
    targets: tuple[Target, ...]

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}

    def delay(self, index: int) -> float:
        """Start times spread over one interval, as triggers arrive in a running triggerer."""
        return self.interval * index / len(self.targets)


ERRORS: list[int] = [0]


async def _forever(poll: Poll, delay: float, interval: float) -> None:
    await asyncio.sleep(delay)
    while True:
        try:
            await poll()
        except Exception:  # counted, never fatal: the benchmark measures throughput
            ERRORS[0] += 1
        await asyncio.sleep(interval)


def _check(status: int, body: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"HTTP {status}")
    json.loads(body)


def _loops(plan: Plan, make_poll: Callable[[Target], Poll]) -> list[Coroutine[Any, Any, None]]:
    return [_forever(make_poll(t), plan.delay(i), plan.interval) for i, t in enumerate(plan.targets)]


async def bare_aiohttp(plan: Plan) -> Loops:
    """The limit: one aiohttp session, read and decode the body, nothing else."""
    import aiohttp

    session = aiohttp.ClientSession(headers=plan.auth())

    def make(t: Target) -> Poll:
        async def poll() -> None:
            async with session.get(t.url + t.path) as response:
                _check(response.status, await response.read())

        return poll

    return _loops(plan, make), session.close


def _shared_httpx(plan: Plan, client: httpx.AsyncClient) -> Loops:
    """Every trigger polls through the one ``client``."""

    def make(t: Target) -> Poll:
        async def poll() -> None:
            response = await client.get(t.url + t.path)
            _check(response.status_code, response.content)

        return poll

    return _loops(plan, make), client.aclose


async def httpx_shared(plan: Plan) -> Loops:
    """One shared ``httpx.AsyncClient`` (default transport), no provider code."""
    return _shared_httpx(plan, httpx.AsyncClient(headers=plan.auth()))


async def httpx_aiohttp_shared(plan: Plan) -> Loops:
    """One shared ``httpx.AsyncClient`` on ``httpx-aiohttp``'s ``AiohttpTransport``, no provider code."""
    from httpx_aiohttp import AiohttpTransport

    return _shared_httpx(plan, httpx.AsyncClient(headers=plan.auth(), transport=AiohttpTransport()))


async def httpx_per_trigger(plan: Plan) -> Loops:
    """The naive design: each trigger opens its own ``httpx.AsyncClient``."""
    clients: list[httpx.AsyncClient] = []

    def make(t: Target) -> Poll:
        client: list[httpx.AsyncClient] = []

        async def poll() -> None:
            if not client:
                client.append(httpx.AsyncClient(headers=plan.auth()))
                clients.append(client[0])
            response = await client[0].get(t.url + t.path)
            _check(response.status_code, response.content)

        return poll

    async def close() -> None:
        await asyncio.gather(*(c.aclose() for c in clients))

    return _loops(plan, make), close


def _sync_poll(client: httpx.Client, t: Target) -> None:
    response = client.get(t.url + t.path)
    _check(response.status_code, response.content)


async def sync_on_loop(plan: Plan) -> Loops:
    """A blocking client called on the event loop (Airflow's OpenAI batch trigger pattern)."""
    client = httpx.Client(headers=plan.auth())

    def make(t: Target) -> Poll:
        async def poll() -> None:
            _sync_poll(client, t)

        return poll

    async def close() -> None:
        await asyncio.to_thread(client.close)

    return _loops(plan, make), close


async def sync_to_thread(plan: Plan) -> Loops:
    """A blocking client in ``asyncio.to_thread`` (common.ai's batch trigger pattern), default executor."""
    client = httpx.Client(headers=plan.auth(), limits=httpx.Limits(max_connections=100))

    def make(t: Target) -> Poll:
        async def poll() -> None:
            await asyncio.to_thread(_sync_poll, client, t)

        return poll

    async def close() -> None:
        await asyncio.to_thread(client.close)

    return _loops(plan, make), close


async def http_event_trigger(plan: Plan) -> Loops:
    """apache-airflow-providers-http's ``HttpEventTrigger`` (HttpAsyncHook), polling with a response check."""
    from airflow.providers.http.triggers.http import HttpEventTrigger

    def loop(i: int, t: Target) -> Coroutine[Any, Any, None]:
        trigger = HttpEventTrigger(
            response_check_path="benchmarks.http_check.never_terminal",
            http_conn_id=f"http_runflow_{t.shard}",
            method="GET",
            endpoint=t.path,
            headers=plan.auth(),
            poll_interval=plan.interval,
        )
        return _drain(trigger.run(), plan.delay(i))

    async def close() -> None:
        return None

    return [loop(i, t) for i, t in enumerate(plan.targets)], close


async def _drain(events: Any, delay: float) -> None:
    await asyncio.sleep(delay)
    async for _ in events:
        ERRORS[0] += 1  # no event is expected within the window


def runflow_trigger(transport: str) -> Callable[[Plan], Awaitable[Loops]]:
    """The provider's ``RunflowBatchTrigger.run()``, with the shared client on ``transport``.

    ``httpx``: the transport a triggerer gets where a proxy is configured (only httpx's honours
    the proxy variables), here one that loopback bypasses, so requests still go straight to the emulator.
    """

    async def factory(plan: Plan) -> Loops:
        from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

        if transport == "httpx":
            os.environ.update(ALL_PROXY="http://proxy.invalid:3128", NO_PROXY="127.0.0.1,localhost")
        deadline = time.time() + 3600

        def loop(i: int, t: Target) -> Coroutine[Any, Any, None]:
            trigger = RunflowBatchTrigger(
                batch_ids=[t.batch_id],
                deadline=deadline,
                runflow_conn_id=f"runflow_{t.shard}",
                poll_interval=plan.interval,
            )
            return _drain(trigger.run(), plan.delay(i))

        async def close() -> None:
            return None

        return [loop(i, t) for i, t in enumerate(plan.targets)], close

    return factory


PEERS: dict[str, Callable[[Plan], Awaitable[Loops]]] = {
    "runflow-trigger (aiohttp transport)": runflow_trigger("aiohttp"),
    "runflow-trigger (httpx transport)": runflow_trigger("httpx"),
    "limit: bare aiohttp": bare_aiohttp,
    "bare shared httpx": httpx_shared,
    "bare shared httpx + httpx-aiohttp": httpx_aiohttp_shared,
    "httpx client per trigger": httpx_per_trigger,
    "sync client on the loop": sync_on_loop,
    "sync client in to_thread": sync_to_thread,
    "HttpEventTrigger (providers-http)": http_event_trigger,
}
