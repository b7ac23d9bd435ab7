"""Asyncio Runflow client: sends the calls of :mod:`calls` as :mod:`conversation` directs."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, aclosing
from typing import Any, TypeVar

import httpx

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.conversation import Attempt, Conversation
from airflow_provider_runflow.client.rate_gate import gate_for
from airflow_provider_runflow.client.responses import Reply

T = TypeVar("T")

MAX_REUSED_REQUESTS = 10_000
"""Plain GET requests kept for reuse per client: one per batch being polled, for a triggerer's thousands."""


class AsyncRunflowClient(AsyncExitStack):
    """Asyncio client of Runflow's batch API, with one connection pool for its lifetime.

    ``await client.send(calls.poll_batch(batch_id))``: the same calls as :class:`RunflowClient`.
    Use it as an async context manager, or ``aclose()`` it: it is an ``AsyncExitStack`` owning its pool.
    """

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self.config = config
        self._http = httpx.AsyncClient(transport=transport, **config.http_options())  # type: ignore[arg-type]
        self._gets: dict[str, httpx.Request] = {}
        self._gate = gate_for(config)
        self.push_async_callback(self._http.aclose)

    async def send(self, call: ApiCall[T] | Exchange[T]) -> T:
        """Send a call or run an exchange, retrying transient failures by the configured policy."""
        conversation = Conversation(call, self.config.retry, self._build)
        for attempt in conversation:
            conversation.answer(await self._attempt(attempt))
        return conversation.result()

    def _build(self, method: str, path: str, **parts: Any) -> httpx.Request:
        """The request for a call; a plain GET is built once and sent again (a poll loop sends one every round).

        Building costs a third of a poll's CPU (URL merging and parsing); an httpx request without a
        body can be sent any number of times. The cache is emptied when full, so it cannot grow without bound.
        """
        if method != "GET" or any(parts.values()):
            return self._http.build_request(method, path, **parts)
        request = self._gets.get(path)
        if request is None:
            if len(self._gets) >= MAX_REUSED_REQUESTS:
                self._gets.clear()
            request = self._gets[path] = self._http.build_request(method, path)
        return request

    async def _attempt(self, attempt: Attempt) -> Reply:
        if wait := self._gate.turn(attempt.delay, attempt.throttled):
            await asyncio.sleep(wait)
        try:
            # Not into response.content: httpcore keeps responses in reference cycles (see RunflowClient).
            async with aclosing(await self._http.send(attempt.request, stream=True)) as response:
                return response, b"".join([chunk async for chunk in response.aiter_bytes()])
        except httpx.TransportError as err:
            return err
