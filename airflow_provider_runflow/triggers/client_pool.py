"""One shared async Runflow client per connection settings and event loop, for all triggers in a triggerer.

An ``httpx.AsyncClient`` costs ~0.8 MiB and ~25 ms of CPU to create (its SSL
context) and holds its own connections: one per trigger would cost gigabytes
for thousands of deferred tasks. Triggers borrow from here instead; the last
one to leave closes the client. The SSL context is built once per process, in a
thread, so that no trigger's first poll stalls the triggerer's event loop. Shared clients send through aiohttp
(``client/aiohttp_transport.py``): a third of httpcore's CPU per poll. A changed connection has other settings, so
it gets a fresh client while the old one drains.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from airflow_provider_runflow.client import AsyncRunflowClient, ClientConfig
from airflow_provider_runflow.client.aiohttp_transport import async_transport
from airflow_provider_runflow.client.config import ssl_context

pooled_transport = async_transport
"""Makes the shared clients' transport: aiohttp's unless a proxy is configured (see docs/benchmarks.md)."""


@dataclass
class _Lease:
    client: AsyncRunflowClient
    users: int = 0


_LEASES: dict[tuple[asyncio.AbstractEventLoop, ClientConfig], _Lease] = {}


@asynccontextmanager
async def shared_client(config: ClientConfig) -> AsyncIterator[AsyncRunflowClient]:
    """Borrow the client for ``config`` on the running loop, creating it on first use."""
    key = (asyncio.get_running_loop(), config)
    if key not in _LEASES:
        await asyncio.to_thread(ssl_context, config.verify)  # reads the CA bundle: not on the loop
    lease = _LEASES.get(key)
    if lease is None:  # looked up again: another trigger may have made it while this one waited
        lease = _LEASES[key] = _Lease(AsyncRunflowClient(config, transport=pooled_transport(config)))
    lease.users += 1
    try:
        yield lease.client
    finally:
        lease.users -= 1
        if lease.users == 0 and _LEASES.get(key) is lease:
            del _LEASES[key]
            await lease.client.aclose()


def open_clients() -> int:
    """How many shared clients are open (for tests and diagnostics)."""
    return len(_LEASES)
