"""Counters of requests per route template and outcome, and a log of recent requests."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

LOG_SIZE = 10_000
REDACTED = "REDACTED"


class Stats:
    """What the emulator has been asked, for tests and benchmarks to assert on."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, Counter[str]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def record(self, scope: Mapping[str, Any], route: str, outcome: str) -> None:
        """Count one request (its ASGI ``scope``) of ``route`` that ended in ``outcome`` (a status, or ``dropped``)."""
        self.requests.setdefault(route, Counter())[outcome] += 1
        headers = {
            name.decode("latin-1").lower(): REDACTED if name.lower() == b"authorization" else value.decode("latin-1")
            for name, value in scope["headers"]
        }
        self.log.append(
            {
                "at": time.time(),
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "query": scope["query_string"].decode("latin-1"),
                "status": outcome,
                "headers": headers,
            }
        )

    def request_counts(self) -> dict[str, dict[str, int]]:
        return {route: dict(counts) for route, counts in self.requests.items()}
