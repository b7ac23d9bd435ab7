"""Asyncio Runflow client: sends the calls of :mod:`calls`, tenacity's ``AsyncRetrying`` retrying each one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.conversation import Conversation, build_request
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.rate_gate import gate_for
from airflow_provider_runflow.client.responses import Reply, read_reply

T = TypeVar("T")

MAX_REUSED_REQUESTS = 10_000
"""Plain GET requests kept for reuse per client: one per batch being polled, for a triggerer's thousands."""


class AsyncRunflowClient(AsyncExitStack):
    """Asyncio client of Runflow's batch API, with one connection pool for its lifetime.

    ``await client.send(calls.poll_batch(batch_id))``: the same calls as :class:`RunflowClient`.
    Use it as an async context manager, or ``aclose()`` it: it is an ``AsyncExitStack`` owning its pool.

    :param sleep: as :class:`RunflowClient`'s, awaited (``asyncio.sleep``).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.config = config
        self._http = httpx.AsyncClient(transport=transport, **config.http_options())  # type: ignore[arg-type]
        self._gets: dict[str, httpx.Request] = {}
        self._gate = gate_for(config)
        self._sleep = sleep
        self.push_async_callback(self._http.aclose)

    async def send(self, call: ApiCall[T] | Exchange[T]) -> T:
        """Send a call or run an exchange, retrying transient failures by the configured policy."""
        conversation = Conversation(call)
        for step in conversation:
            try:
                conversation.answer(await self._send_call(step))
            except RunflowError as error:
                conversation.fail(error)
        return conversation.result()

    async def _send_call(self, call: ApiCall[T]) -> T:
        """The first attempt goes out bare; tenacity takes over from its failure, told how it ended.

        A tenacity controller costs about a tenth of a poll's CPU and leaves reference cycles for the
        garbage collector, and a triggerer's thousands of polls nearly all succeed at once (docs/benchmarks.md).
        """
        started = time.monotonic()
        await self._wait(0.0)  # the first attempt's turn at the gate; tenacity's sleep takes each retry's
        try:
            return await self._attempt(call)
        except RunflowError as error:
            failure = error
        retrying = self.config.retry.retrying(AsyncRetrying, call, started=started, gate=self._gate, sleep=self._wait)
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number == 1:  # tenacity's first attempt is the bare one
                    raise failure
                return await self._attempt(call)
        raise AssertionError("unreachable: tenacity returns a result or raises the last error")

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or longer when the connection's rate gate gives a later turn."""
        if wait := self._gate.turn(seconds):
            await self._sleep(wait)

    def _build(self, call: ApiCall[Any]) -> httpx.Request:
        """The request for a call; a plain GET is built once and sent again (a poll loop sends one every round).

        Building costs a third of a poll's CPU (URL merging and parsing); an httpx request without a
        body can be sent any number of times. The cache is emptied when full, so it cannot grow without bound.
        """
        if call.method != "GET" or call.params or call.body or call.headers:
            return build_request(call, self._http.build_request)
        request = self._gets.get(call.path)
        if request is None:
            if len(self._gets) >= MAX_REUSED_REQUESTS:
                self._gets.clear()
            request = self._gets[call.path] = self._http.build_request("GET", call.path)
        return request

    async def _attempt(self, call: ApiCall[T]) -> T:
        reply: Reply
        try:
            # Not into response.content: httpcore keeps responses in reference cycles (see RunflowClient).
            async with aclosing(await self._http.send(self._build(call), stream=True)) as response:
                reply = response, b"".join([chunk async for chunk in response.aiter_bytes()])
        except httpx.TransportError as err:
            reply = err
        return read_reply(call, reply)
