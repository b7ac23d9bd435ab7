"""Blocking Runflow client: sends the calls of :mod:`calls` as :mod:`conversation` directs."""

from __future__ import annotations

import time
from contextlib import ExitStack, closing
from typing import TypeVar

import httpx

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.conversation import Attempt, Conversation
from airflow_provider_runflow.client.rate_gate import gate_for
from airflow_provider_runflow.client.responses import Reply

T = TypeVar("T")


class RunflowClient(ExitStack):
    """Synchronous client of Runflow's batch API, with one connection pool for its lifetime.

    Every endpoint is a call of :mod:`~airflow_provider_runflow.client.calls`:
    ``client.send(calls.get_batch(batch_id))``, ``client.send(calls.batch_items(batch_id))``.
    Use it as a context manager, or ``close()`` it: it is an ``ExitStack`` owning its pool.
    """

    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__()
        self.config = config
        self._gate = gate_for(config)
        self._http = self.enter_context(httpx.Client(transport=transport, **config.http_options()))  # type: ignore[arg-type]

    def send(self, call: ApiCall[T] | Exchange[T]) -> T:
        """Send a call or run an exchange, retrying transient failures by the configured policy."""
        return Conversation(call, self.config.retry, self._http.build_request).run(self._attempt)

    def _attempt(self, attempt: Attempt) -> Reply:
        if wait := self._gate.turn(attempt.delay, attempt.throttled):
            time.sleep(wait)
        try:
            # Read the body ourselves rather than into response.content: httpcore keeps a
            # response in a reference cycle, so its content would live until the next GC.
            with closing(self._http.send(attempt.request, stream=True)) as response:
                return response, b"".join(response.iter_bytes())
        except httpx.TransportError as err:
            return err
