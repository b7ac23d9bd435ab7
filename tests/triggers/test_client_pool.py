"""Shared clients: one per connection, closed by the last borrower; the SSL context (~25 ms) is built off the loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path

import certifi
import pytest

from airflow_provider_runflow.client import ClientConfig, calls
from airflow_provider_runflow.client.config import ssl_context
from airflow_provider_runflow.triggers.client_pool import SharedClient, borrow, give_back

BUNDLE = Path(certifi.where()).read_bytes()


async def test_connections_with_one_ca_bundle_share_one_ssl_context(tmp_path: Path) -> None:
    bundle = shutil.copy(certifi.where(), tmp_path / "ca.pem")
    built = ssl_context.cache_info().misses
    for key in ("rf_live_a", "rf_live_b"):  # two connections: two clients, one context
        async with SharedClient(ClientConfig(api_key=key, verify=str(bundle))):
            pass
    assert ssl_context.cache_info().misses == built + 1


async def _feed_from_the_loop(pipe: Path, data: bytes) -> None:
    while True:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # nobody reads the pipe yet
            await asyncio.sleep(0.005)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as writer:
        writer.write(data)


def _feed_from_a_thread(pipe: Path, data: bytes) -> None:
    with pipe.open("wb") as writer:
        writer.write(data)


async def test_the_ca_bundle_is_read_off_the_event_loop(tmp_path: Path) -> None:
    """The CA bundle comes through a pipe that a coroutine fills: were it read on the loop, no coroutine could run."""
    pipe = tmp_path / "ca.pem"
    os.mkfifo(pipe)
    rescue = threading.Timer(10, _feed_from_a_thread, (pipe, BUNDLE))  # frees a blocked loop, so the test fails
    rescue.daemon = True
    rescue.start()
    feeding = asyncio.ensure_future(_feed_from_the_loop(pipe, BUNDLE))
    try:
        async with SharedClient(ClientConfig(api_key="rf_live_a", verify=str(pipe))):
            fed_by_the_loop = feeding.done() and not feeding.cancelled() and feeding.exception() is None
    finally:
        rescue.cancel()
        feeding.cancel()
    assert fed_by_the_loop


async def test_borrowers_of_one_connection_share_a_client_closed_by_the_last() -> None:
    config = ClientConfig(api_key="rf_live_a", verify=certifi.where())
    first, second = SharedClient(config), SharedClient(ClientConfig(api_key="rf_live_a", verify=certifi.where()))
    async with first as one, second as two:
        assert one is two
    with pytest.raises(RuntimeError, match="closed"):
        await one.send(calls.get_batch("b1"))
    async with SharedClient(config) as later:
        assert later is not one
    with pytest.raises(RuntimeError, match="entered once"):
        await first.__aenter__()


async def test_a_client_is_given_back_once_per_borrow_and_closed_by_the_last() -> None:
    config = ClientConfig(api_key="rf_live_a", verify=certifi.where())
    client = await borrow(config)
    assert await borrow(config) is client
    await give_back(client)
    await give_back(client)
    with pytest.raises(RuntimeError, match="closed"):
        await client.send(calls.get_batch("b1"))
    with pytest.raises(RuntimeError, match="given back already"):
        await give_back(client)
