"""Blocking Runflow client: sends the calls of :mod:`calls`, tenacity's ``Retrying`` retrying each one."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from typing import Any, TypeVar

import httpx
from tenacity import Retrying

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.conversation import Conversation, build_request
from airflow_provider_runflow.client.rate_gate import gate_for
from airflow_provider_runflow.client.responses import Reply, read_reply

T = TypeVar("T")


class RunflowClient(ExitStack):
    """Synchronous client of Runflow's batch API, with one connection pool for its lifetime.

    Every endpoint is a call of :mod:`~airflow_provider_runflow.client.calls`:
    ``client.send(calls.get_batch(batch_id))``, ``client.send(calls.batch_items(batch_id))``.
    Use it as a context manager, or ``close()`` it: it is an ``ExitStack`` owning its pool.

    :param sleep: how it waits between attempts and for its turn at the connection's rate gate
        (``time.sleep``; a test may pass one that records the waits instead).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        super().__init__()
        self.config = config
        self._gate = gate_for(config)
        self._sleep = sleep
        self._http = self.enter_context(httpx.Client(transport=transport, **config.http_options()))  # type: ignore[arg-type]

    def send(self, call: ApiCall[T] | Exchange[T]) -> T:
        """Send a call or run an exchange, retrying transient failures by the configured policy."""
        return Conversation(call).run(self._send_call)

    def _send_call(self, call: ApiCall[T]) -> T:
        started = time.monotonic()
        self._wait(0.0)  # the first attempt's turn at the gate; tenacity's sleep takes each retry's
        retrying = self.config.retry.retrying(Retrying, call, started=started, gate=self._gate, sleep=self._wait)
        result: T = retrying(self._attempt, call)
        return result

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or longer when the connection's rate gate gives a later turn."""
        if wait := self._gate.turn(seconds):
            self._sleep(wait)

    def _attempt(self, call: ApiCall[T]) -> T:
        reply: Reply
        try:
            # Read the body ourselves rather than into response.content: httpcore keeps a
            # response in a reference cycle, so its content would live until the next GC.
            with closing(self._http.send(build_request(call, self._http.build_request), stream=True)) as response:
                reply = response, b"".join(response.iter_bytes())
        except httpx.TransportError as err:
            reply = err
        return read_reply(call, reply)
