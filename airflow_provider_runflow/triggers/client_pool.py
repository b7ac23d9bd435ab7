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


async def borrow(config: ClientConfig) -> AsyncRunflowClient:
    """The client for ``config`` on the running loop, made on first use; hand it back with :func:`give_back`, once.

    A trigger borrows for its whole wait, so it holds nothing but the shared client: a context
    manager (and the bound ``__aexit__`` an ``async with`` keeps) would be two objects more per
    deferred task, a heap the garbage collector walks on every full collection (docs/benchmarks.md).
    """
    key = (asyncio.get_running_loop(), config)
    if key not in _LEASES:
        await asyncio.to_thread(ssl_context, config.verify)  # reads the CA bundle: not on the loop
    lease = _LEASES.get(key)
    if lease is None:  # looked up again: another trigger may have made it while this one waited
        lease = _LEASES[key] = _Lease(key, AsyncRunflowClient(config, transport=async_transport(config)))
    lease.users += 1
    return lease.client


async def give_back(client: AsyncRunflowClient) -> None:
    """End a :func:`borrow`: the last borrower of a client closes it."""
    lease = _LEASES.get((asyncio.get_running_loop(), client.config))
    if lease is None or lease.client is not client:
        raise RuntimeError("this client was not borrowed on this loop, or was given back already")
    lease.users -= 1
    if lease.users == 0:
        del _LEASES[lease.key]
        await client.aclose()


class SharedClient:
    """``async with SharedClient(config) as client``: :func:`borrow` for the block, for short uses (a cancel)."""

    __slots__ = ("_client", "_config")

    def __init__(self, config: ClientConfig) -> None:
        self._config: ClientConfig | None = config
        self._client: AsyncRunflowClient | None = None

    async def __aenter__(self) -> AsyncRunflowClient:
        if self._config is None:
            raise RuntimeError("a SharedClient is entered once")
        self._client, self._config = await borrow(self._config), None
        return self._client

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._client is not None:
            await give_back(self._client)
