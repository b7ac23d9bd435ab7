"""Asyncio Runflow client: sends the calls of :mod:`calls` as :mod:`conversation` directs."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, aclosing
from typing import TypeVar

import httpx

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.conversation import Attempt, Conversation
from airflow_provider_runflow.client.responses import Reply

T = TypeVar("T")


class AsyncRunflowClient(AsyncExitStack):
    """Asyncio client of Runflow's batch API, with one connection pool for its lifetime.

    ``await client.send(calls.poll_batch(batch_id))``: the same calls as :class:`RunflowClient`.
    Use it as an async context manager, or ``aclose()`` it: it is an ``AsyncExitStack`` owning its pool.
    """

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self.config = config
        self._http = httpx.AsyncClient(transport=transport, **config.http_options())  # type: ignore[arg-type]
        self.push_async_callback(self._http.aclose)

    async def send(self, call: ApiCall[T] | Exchange[T]) -> T:
        """Send a call or run an exchange, retrying transient failures by the configured policy."""
        conversation = Conversation(call, self.config.retry, self._http.build_request)
        for attempt in conversation:
            conversation.answer(await self._attempt(attempt))
        return conversation.result()

    async def _attempt(self, attempt: Attempt) -> Reply:
        if attempt.delay:
            await asyncio.sleep(attempt.delay)
        try:
            # Not into response.content: httpcore keeps responses in reference cycles (see RunflowClient).
            async with aclosing(await self._http.send(attempt.request, stream=True)) as response:
                return response, b"".join([chunk async for chunk in response.aiter_bytes()])
        except httpx.TransportError as err:
            return err
