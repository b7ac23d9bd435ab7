"""Helpers of the Runflow client tests: one scenario, driven through the sync and the async client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_runflow.client import (
    AsyncRunflowClient,
    BatchItemRow,
    ClientConfig,
    ItemsQuery,
    RetryPolicy,
    RunflowClient,
    calls,
)

BASE_URL = "https://api.runflow.test"
API_KEY = "rf_live_test_5ecret_key_0123456789"
SEEDS = Path(__file__).parent / "seeds"

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0, jitter=0)
"""Retries without waiting, so respx tests of the retry decisions run instantly."""


def seed(name: str) -> Any:
    """An example body from Runflow's API reference (``tests/client/seeds``, copied from the shared seeds)."""
    return json.loads((SEEDS / f"{name}.json").read_text())


def make_config(**overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {"api_key": API_KEY, "base_url": BASE_URL, "retry": FAST_RETRY}
    return ClientConfig(**{**settings, **overrides})


@dataclass
class Runflow:
    """Sends one call through the sync or the async client, so a test states its scenario once.

    ``sleeps``: when a list, the client's waits are recorded there instead of slept.
    """

    kind: str
    config: ClientConfig
    sleeps: list[float] | None = None

    async def call(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        """Send ``calls.<endpoint>(*args, **kwargs)``."""
        call = getattr(calls, endpoint)(*args, **kwargs)
        if self.kind == "sync":
            with RunflowClient(self.config, **self._sleep()) as client:
                return client.send(call)
        async with AsyncRunflowClient(self.config, **self._sleep()) as aclient:
            return await aclient.send(call)

    def _sleep(self) -> dict[str, Any]:
        if self.sleeps is None:
            return {}
        recorded = self.sleeps

        async def record(seconds: float) -> None:
            recorded.append(seconds)

        return {"sleep": recorded.append if self.kind == "sync" else record}

    async def all_items(self, batch_id: str, query: ItemsQuery | None = None) -> list[BatchItemRow]:
        return await self.call("batch_items", batch_id, query)  # type: ignore[no-any-return]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoopbackServer:
    """A real HTTP server on 127.0.0.1 that answers from a script of replies, then repeats the last one."""

    replies: list[Reply]
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def next_reply(self) -> Reply:
        index = min(len(self.requests) - 1, len(self.replies) - 1)
        return self.replies[index]
