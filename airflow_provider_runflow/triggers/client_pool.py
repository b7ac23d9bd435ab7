"""One shared async Runflow client per connection settings and event loop, for all triggers in a triggerer.

An ``httpx.AsyncClient`` costs ~0.8 MiB and ~25 ms of CPU to create (its SSL
context) and holds its own connections: one per trigger would cost gigabytes
for thousands of deferred tasks. Triggers borrow from here instead; the last
one to leave closes the client. The SSL context is built once per process, in a
thread, so that no trigger's first poll stalls the triggerer's event loop. Shared clients send through aiohttp
(``client/aiohttp_transport.py``): a third of httpcore's CPU per poll; with a proxy configured, through httpx's own
transport (see docs/benchmarks.md). A changed connection has other settings, so it gets a fresh client while the
old one drains.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType

from airflow_provider_runflow.client import AsyncRunflowClient, ClientConfig
from airflow_provider_runflow.client.aiohttp_transport import async_transport
from airflow_provider_runflow.client.config import ssl_context

LeaseKey = tuple[asyncio.AbstractEventLoop, ClientConfig]


@dataclass(slots=True)
class _Lease:
    key: LeaseKey
    client: AsyncRunflowClient
    users: int = 0


_LEASES: dict[LeaseKey, _Lease] = {}


class SharedClient:
    """``async with SharedClient(config) as client``: the client for ``config`` on the running loop, made on first use.

    A class with slots rather than an ``asynccontextmanager``: a triggerer holds one per deferred
    task for the task's whole wait, and a generator-based one costs five objects where this costs
    one, a heap the garbage collector walks on every full collection. Once entered it keeps the
    lease, not ``config``: the lease's copy serves every trigger on that connection.
    """

    __slots__ = ("_config", "_lease")
    _lease: _Lease

    def __init__(self, config: ClientConfig) -> None:
        self._config: ClientConfig | None = config

    async def __aenter__(self) -> AsyncRunflowClient:
        if self._config is None:
            raise RuntimeError("a SharedClient is entered once")
        key = (asyncio.get_running_loop(), self._config)
        if key not in _LEASES:
            await asyncio.to_thread(ssl_context, key[1].verify)  # reads the CA bundle: not on the loop
        lease = _LEASES.get(key)
        if lease is None:  # looked up again: another trigger may have made it while this one waited
            lease = _LEASES[key] = _Lease(key, AsyncRunflowClient(key[1], transport=async_transport(key[1])))
        lease.users += 1
        self._lease, self._config = lease, None
        return lease.client

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        lease = self._lease
        lease.users -= 1
        if lease.users == 0 and _LEASES.get(lease.key) is lease:
            del _LEASES[lease.key]
            await lease.client.aclose()
