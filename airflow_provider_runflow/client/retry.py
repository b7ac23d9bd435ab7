"""The one retry policy of the Runflow client, shared by the sync and async clients and the batch tracker.

Runflow advises backing off on 429 and 5xx and not retrying other 4xx. A
request the server may have acted on is only resent when that is harmless
(a GET, or a POST carrying an Idempotency-Key), so nothing is billed twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any, stop_before_delay

from airflow_provider_runflow.client.calls import ApiCall
from airflow_provider_runflow.client.errors import (
    RunflowAPIError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTransportError,
)

log = logging.getLogger(__name__)


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

    def wait_seconds(self, state: RetryCallState) -> float:
        """Honour the server's Retry-After when given, else back off exponentially with jitter."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RunflowAPIError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        # Computed here rather than with tenacity's wait_exponential_jitter, whose
        # arguments changed name across the tenacity versions we support.
        backoff = self.initial_backoff * 2.0 ** (state.attempt_number - 1)
        return min(backoff, self.max_backoff) + random.uniform(0, self.jitter)

    def retrying(self, call: ApiCall[Any], sleep: Callable[[float], None], started: float) -> Retrying:
        """A tenacity controller that retries ``call`` by this policy; ``sleep`` is told each backoff.

        ``started`` (``time.monotonic()``) is when the first attempt left: the clients build this
        controller only once that attempt failed, so the elapsed-time limit counts from there.
        """

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "Runflow %s %s failed (%s); attempt %d of %d, retrying in %.1f s",
                call.method,
                call.path,
                error,
                state.attempt_number,
                self.max_attempts,
                wait,
            )

        return Retrying(
            retry=retry_if_exception(lambda error: is_retryable(error, call)),
            stop=stop_any(stop_after_attempt(self.max_attempts), stop_before_delay(self.max_elapsed)),
            wait=self.wait_seconds,
            before=lambda state: setattr(state, "start_time", started),
            before_sleep=log_retry,
            sleep=sleep,
            reraise=True,
        )
