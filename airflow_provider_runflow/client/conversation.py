"""Sending a call or an exchange, without I/O: which request to send next, after how long, and what it meant.

Why this shape: the sync and the async client must build, retry and parse requests
identically, and an endpoint or a multi-step exchange (pagination, cancellation)
must be written once. So everything but the I/O lives here, as a state machine that
yields :class:`Attempt` s and is told each one's :data:`Reply`; a client only sleeps,
sends and reads the body (a few lines per I/O flavour). The alternative, generating
the sync client from the async source as httpcore does, would need a build step and
still leave two copies to read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.responses import Reply, read_reply
from airflow_provider_runflow.client.retry import RetryPolicy

T = TypeVar("T")

RequestBuilder = Callable[..., httpx.Request]
"""``httpx.Client.build_request`` or ``httpx.AsyncClient.build_request``: merges base URL and headers."""

Steps = Generator["Attempt", Reply, T]


@dataclass(frozen=True)
class Attempt:
    """One HTTP request to send, after waiting ``delay`` seconds (a retry's backoff; 0 for a first try).

    ``throttled``: the attempt before it was rate-limited, so the wait is every request's of that
    connection, not this call's alone (the clients close their :class:`RateGate` for it).
    """

    request: httpx.Request
    delay: float = 0.0
    throttled: bool = False


def _attempts(call: ApiCall[T], policy: RetryPolicy, build: RequestBuilder) -> Steps[T]:
    """Send ``call`` until it succeeds or the policy gives up; the last error is raised.

    The first attempt goes out bare: almost every call succeeds at once, and a poll loop of
    thousands of triggers should not build a retry controller per request. tenacity decides
    from the first failure on; its sleep only notes the backoff, which the client's own sleep waits out.
    """
    started = time.monotonic()
    reply = yield Attempt(_request(call, build))
    try:
        return read_reply(call, reply)
    except RunflowError as error:
        failed: RunflowError | None = error
    backoffs: list[float] = []
    for attempt in policy.retrying(call, sleep=backoffs.append, started=started):
        if failed is not None:  # tell tenacity how the first attempt ended
            with attempt:
                raise failed
            failed = None
            continue
        throttled = not isinstance(reply, BaseException) and reply[0].status_code == 429
        reply = yield Attempt(_request(call, build), backoffs.pop() if backoffs else 0.0, throttled)
        with attempt:
            return read_reply(call, reply)
    raise AssertionError("unreachable: tenacity returns the result or reraises the last error")


def _request(call: ApiCall[Any], build: RequestBuilder) -> httpx.Request:
    return build(call.method, call.path, params=call.params, content=call.body, headers=call.headers)


def _exchange(exchange: Exchange[T], policy: RetryPolicy, build: RequestBuilder) -> Steps[T]:
    """Run each call ``exchange`` yields, handing it back the result or throwing in the error."""
    outcome: Any = None
    failed = False
    while True:
        try:
            call = exchange.throw(outcome) if failed else exchange.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            outcome, failed = (yield from _attempts(call, policy, build)), False
        except RunflowError as error:
            outcome, failed = error, True


class Conversation(Generic[T]):
    """The attempts that send a call or run an exchange; iterate it, and :meth:`answer` each attempt.

    ``result()`` is the call's result once iteration ends; the final error is raised from the iteration.
    """

    def __init__(self, call: ApiCall[T] | Exchange[T], policy: RetryPolicy, build: RequestBuilder) -> None:
        if isinstance(call, ApiCall):
            self._steps = _attempts(call, policy, build)
        else:
            self._steps = _exchange(call, policy, build)
        self._reply: Reply | None = None
        self._result: tuple[T] | None = None

    def __iter__(self) -> Iterator[Attempt]:
        try:
            attempt = next(self._steps)
            while True:
                yield attempt
                reply, self._reply = self._reply, None
                if reply is None:
                    raise RuntimeError("each attempt needs an answer before the next")
                attempt = self._steps.send(reply)
        except StopIteration as done:
            self._result = (done.value,)

    def answer(self, reply: Reply) -> None:
        """What the last attempt got: the response and its body, or the transport error."""
        self._reply = reply

    def result(self) -> T:
        if self._result is None:
            raise RuntimeError("the conversation has not finished")
        return self._result[0]

    def run(self, send: Callable[[Attempt], Reply]) -> T:
        """Drive the conversation with a blocking ``send`` (an async one loops over it instead)."""
        for attempt in self:
            self.answer(send(attempt))
        return self.result()
