"""Counters of requests per route template and outcome, and a log of recent requests."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from airflow_provider_runflow.emulator.http import Request

LOG_SIZE = 10_000
REDACTED = "REDACTED"


class Stats:
    """What the emulator has been asked, for tests and benchmarks to assert on."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, Counter[str]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def record(self, request: Request, route: str, outcome: str) -> None:
        """Count one request of ``route`` that ended in ``outcome`` (a status code, or ``dropped``)."""
        self.requests.setdefault(route, Counter())[outcome] += 1
        headers = {name: REDACTED if name == "authorization" else value for name, value in request.headers.items()}
        self.log.append(
            {
                "at": time.time(),
                "method": request.method,
                "path": request.path,
                "route": route,
                "query": request.query_string,
                "status": outcome,
                "headers": headers,
            }
        )

    def request_counts(self) -> dict[str, dict[str, int]]:
        return {route: dict(counts) for route, counts in self.requests.items()}
