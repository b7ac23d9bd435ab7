"""Counters of requests per route template and outcome, and a log of recent requests."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, NamedTuple

LOG_SIZE = 10_000
REDACTED = "REDACTED"


class _Logged(NamedTuple):
    """A request as the server saw it; decoded only when the log is read, to keep each request cheap."""

    at: float
    scope: Mapping[str, Any]
    route: str
    status: str

    def to_json(self) -> dict[str, Any]:
        headers = {
            name.decode("latin-1").lower(): REDACTED if name.lower() == b"authorization" else value.decode("latin-1")
            for name, value in self.scope["headers"]
        }
        return {
            "at": self.at,
            "method": self.scope["method"],
            "path": self.scope["path"],
            "route": self.route,
            "query": self.scope["query_string"].decode("latin-1"),
            "status": self.status,
            "headers": headers,
        }


class Stats:
    """What the emulator has been asked, for tests and benchmarks to assert on."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, Counter[str]] = {}
        self._log: deque[_Logged] = deque(maxlen=LOG_SIZE)

    def record(self, scope: Mapping[str, Any], route: str, outcome: str) -> None:
        """Count one request (its ASGI ``scope``) of ``route`` that ended in ``outcome`` (a status, or ``dropped``)."""
        self.requests.setdefault(route, Counter())[outcome] += 1
        self._log.append(_Logged(time.time(), scope, route, outcome))

    def request_counts(self) -> dict[str, dict[str, int]]:
        return {route: dict(counts) for route, counts in self.requests.items()}

    def request_log(self) -> list[dict[str, Any]]:
        """The last ``LOG_SIZE`` requests, oldest first, with the Authorization header redacted."""
        return [entry.to_json() for entry in self._log]
