"""Shared clients: the SSL context, which takes ~25 ms of CPU to build, never stalls the triggerer's loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import certifi
import pytest

from airflow_provider_runflow.client import ClientConfig
from airflow_provider_runflow.client import config as client_config
from airflow_provider_runflow.triggers.client_pool import SharedClient, open_clients


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The threads that built an SSL context, with the per-process cache emptied first."""
    threads: list[int] = []
    build = client_config._build_ssl_context

    def recording(verify: bool | str) -> object:
        threads.append(threading.get_ident())
        return build(verify)

    client_config.ssl_context.cache_clear()
    monkeypatch.setattr(client_config, "_build_ssl_context", recording)
    yield threads
    client_config.ssl_context.cache_clear()


async def test_the_ssl_context_is_built_once_and_off_the_event_loop(builds: list[int]) -> None:
    loop_thread = threading.get_ident()
    for key in ("rf_live_a", "rf_live_b"):  # two connections: two clients, one context
        async with SharedClient(ClientConfig(api_key=key, verify=certifi.where())):
            pass
    assert len(builds) == 1
    assert builds[0] != loop_thread


async def test_borrowers_of_one_connection_share_a_client_closed_by_the_last() -> None:
    config = ClientConfig(api_key="rf_live_a", verify=certifi.where())
    first, second = SharedClient(config), SharedClient(ClientConfig(api_key="rf_live_a", verify=certifi.where()))
    async with first as one:
        async with second as two:
            assert one is two
        assert open_clients() == 1
    assert open_clients() == 0
    with pytest.raises(RuntimeError, match="entered once"):
        await first.__aenter__()
