"""Running a call or an exchange, without I/O: which call to send next, and where its result or error goes.

Why this shape: an endpoint or a multi-step exchange (pagination, cancellation) must be
written once for the sync and the async client. So stepping through an exchange lives
here, and so do building a call's request and reading its reply (:mod:`.responses`); a
client only sends, with tenacity retrying each call (a few lines per I/O flavour).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import httpx

from airflow_provider_runflow.client.calls import ApiCall, Exchange
from airflow_provider_runflow.client.errors import RunflowError

T = TypeVar("T")

RequestBuilder = Callable[..., httpx.Request]
"""``httpx.Client.build_request`` or ``httpx.AsyncClient.build_request``: merges base URL and headers."""


def build_request(call: ApiCall[Any], build: RequestBuilder) -> httpx.Request:
    """The HTTP request of ``call``, built by the client's ``build`` (its base URL and headers)."""
    return build(call.method, call.path, params=call.params, content=call.body, headers=call.headers)


def _alone(call: ApiCall[T]) -> Exchange[T]:
    return (yield call)  # type: ignore[no-any-return]


class Conversation(Generic[T]):
    """The calls that make up a call or an exchange: iterate it, and tell it how each one ended.

    ``result()`` is the final result once iteration ends; an error the exchange does not
    handle (for a lone call, its only error) is raised from the iteration.
    """

    def __init__(self, call: ApiCall[T] | Exchange[T]) -> None:
        self._steps = _alone(call) if isinstance(call, ApiCall) else call
        self._outcome: Any = None
        self._failed = False
        self._result: tuple[T] | None = None

    def __iter__(self) -> Iterator[ApiCall[Any]]:
        try:
            call = next(self._steps)
            while True:
                yield call
                outcome, self._outcome = self._outcome, None
                call = self._steps.throw(outcome) if self._failed else self._steps.send(outcome)
        except StopIteration as done:
            self._result = (done.value,)

    def answer(self, result: Any) -> None:
        """The last call's result."""
        self._outcome, self._failed = result, False

    def fail(self, error: RunflowError) -> None:
        """The error the last call ended with, after its retries."""
        self._outcome, self._failed = error, True

    def result(self) -> T:
        if self._result is None:
            raise RuntimeError("the conversation has not finished")
        return self._result[0]

    def run(self, send: Callable[[ApiCall[Any]], Any]) -> T:
        """Drive the conversation with a blocking ``send`` (an async client loops over it instead)."""
        for call in self:
            try:
                self.answer(send(call))
            except RunflowError as error:
                self.fail(error)
        return self.result()
