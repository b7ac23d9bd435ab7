"""One pacing gate per connection settings and process: Runflow's rate limit is shared, so its backoff is too.

Runflow rate-limits an organisation, not a request. When a thousand triggers on one triggerer
each met a 429 and retried on their own schedule, every retry that landed inside the limit's
window was another 429. Instead, the clients of one connection in a process (the triggerer's
shared async client, the blocking clients of tasks in one worker) take their turn from one
gate: a 429 closes it for the wait (the server's ``Retry-After``, else the retry policy's
backoff), and an optional ``max_requests_per_second`` spaces requests so that the limit is not
met at all. Thread-safe, because blocking tasks and the triggerer's loop may share a process;
monotonic time, because a gate never leaves its process.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_runflow.client.config import ClientConfig


class RateGate:
    """Hands out the times at which requests may start.

    :param max_requests_per_second: the most requests started per second; ``None`` for no cap.
    """

    def __init__(self, max_requests_per_second: float | None = None) -> None:
        if max_requests_per_second is not None and max_requests_per_second <= 0:
            raise ValueError(f"max_requests_per_second must be > 0, got {max_requests_per_second}")
        self._spacing = 1.0 / max_requests_per_second if max_requests_per_second else 0.0
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        """Take the next turn; the seconds to wait before sending (0 when the gate is open and uncapped)."""
        with self._lock:
            start = max(now, self._next)
            self._next = start + self._spacing if self._spacing else self._next
            return start - now

    def turn(self, delay: float = 0.0) -> float:
        """Seconds to wait before an attempt: its retry ``delay`` (0 for a first try), or longer to take its turn."""
        return max(delay, self.reserve(time.monotonic()))

    def close_for(self, now: float, seconds: float) -> None:
        """A 429: no request of this gate starts before ``now + seconds``."""
        with self._lock:
            self._next = max(self._next, now + seconds)


_GATES: dict[ClientConfig, RateGate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(config: ClientConfig) -> RateGate:
    """The process's gate for a connection's settings, made on first use."""
    with _GATES_LOCK:
        gate = _GATES.get(config)
        if gate is None:
            gate = _GATES[config] = RateGate(config.max_requests_per_second)
        return gate
