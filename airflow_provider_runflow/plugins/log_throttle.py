"""Warnings that anyone on the network can cause, logged at most once a minute each, with a count of the rest."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable


class ThrottledWarnings:
    """Logs a warning of a given ``key`` at most once per ``seconds``; the next one says how many were skipped.

    Keys must come from a small fixed set (never from the request), so the memory stays bounded.
    Monotonic time: the throttle lives and dies with the process.
    """

    def __init__(self, logger: logging.Logger, seconds: float = 60.0) -> None:
        self.logger, self.seconds = logger, seconds
        self._last: dict[Hashable, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def warning(self, key: Hashable, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last, skipped = self._last.get(key, (-self.seconds, 0))
            if now - last < self.seconds:
                self._last[key] = (last, skipped + 1)
                return
            self._last[key] = (now, 0)
        if skipped:
            message += f" ({skipped} more like it not logged since the last)"
        self.logger.warning(message, *args)
