"""The one retry policy of the Runflow client, shared by the sync and async clients and the batch tracker.

Runflow advises backing off on 429 and 5xx and not retrying other 4xx. A
request the server may have acted on is only resent when that is harmless
(a GET, or a POST carrying an Idempotency-Key), so nothing is billed twice.
tenacity runs the retries: this module gives it ``retry=``, ``wait=``, ``stop=``
and ``before_sleep=``; each client gives it a real ``sleep=`` of its own kind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from airflow_provider_runflow.client.calls import ApiCall
from airflow_provider_runflow.client.errors import (
    RunflowAPIError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTransportError,
)
from airflow_provider_runflow.client.rate_gate import RateGate

log = logging.getLogger(__name__)

Controller = TypeVar("Controller", Retrying, AsyncRetrying)


def is_transient(error: BaseException) -> bool:
    """Whether asking again may get another answer: 429, 5xx, network failures and garbled answers.

    Never a redirect (it is not followed, and asking again gets the same one), another
    4xx, or anything that is not a Runflow error (a bug does not heal by waiting).
    """
    if isinstance(error, RunflowResponseError):
        return not 300 <= error.status < 400
    return isinstance(error, (RunflowRateLimitError, RunflowServerError, RunflowTransportError))


def is_retryable(error: BaseException, call: ApiCall[Any]) -> bool:
    """Whether ``error`` from ``call`` is transient and resending ``call`` is safe."""
    if not is_transient(error):
        return False
    # A 429 and a connection never made were not processed: safe even without an Idempotency-Key.
    unprocessed = isinstance(error, RunflowRateLimitError) or (
        isinstance(error, RunflowTransportError) and not error.request_sent
    )
    return unprocessed or call.replayable


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures.

    :param max_attempts: attempts in all, the first included (1 disables retries).
    :param max_elapsed: seconds after the first attempt past which no new attempt starts.
    :param initial_backoff: first exponential backoff, in seconds (doubled each attempt, plus jitter).
    :param max_backoff: cap of one exponential backoff, in seconds.
    :param jitter: up to this many random seconds added to each backoff.
    :param max_retry_after: cap on a server-requested ``Retry-After`` wait, in seconds.
    """

    max_attempts: int = 5
    max_elapsed: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 1.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def retrying(
        self,
        kind: type[Controller],
        call: ApiCall[Any],
        *,
        started: float,
        gate: RateGate,
        sleep: Callable[[float], Any],
    ) -> Controller:
        """A tenacity controller of ``kind`` (``Retrying`` or ``AsyncRetrying``) that retries ``call`` by this policy.

        ``started`` (``time.monotonic()``) is when the call began: the elapsed-time limit counts from
        there, so tenacity is given what is left of it. A 429 closes the connection's ``gate`` for
        its wait before ``sleep`` (the client's, which also takes the retry's turn at the gate) waits it out.
        """
        backoff = wait_exponential(multiplier=self.initial_backoff, max=self.max_backoff) + wait_random(0, self.jitter)
        time_left = self.max_elapsed - (time.monotonic() - started)
        return kind(
            retry=retry_if_exception(partial(is_retryable, call=call)),
            wait=partial(self._wait, backoff),
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(max(0.0, time_left)),
            before_sleep=partial(self._before_retry, call, gate),
            sleep=sleep,
            reraise=True,
        )

    def _wait(self, backoff: Callable[[RetryCallState], float], state: RetryCallState) -> float:
        """The server's ``Retry-After`` when it sent one (RFC 9110 §10.2.3), capped; else ``backoff``."""
        error = _failure(state)
        if isinstance(error, RunflowAPIError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return backoff(state)

    def _before_retry(self, call: ApiCall[Any], gate: RateGate, state: RetryCallState) -> None:
        """Log the retry; a 429 first pauses every request of the connection (Runflow limits the organisation)."""
        error = _failure(state)
        wait = state.next_action.sleep if state.next_action else 0.0
        if isinstance(error, RunflowRateLimitError):
            gate.close_for(time.monotonic(), wait)
        log.warning(
            "Runflow %s %s failed (%s); attempt %d of %d, retrying in %.1f s",
            call.method,
            call.path,
            error,
            state.attempt_number,
            self.max_attempts,
            wait,
        )
