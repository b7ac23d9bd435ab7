"""Streaming one stored media file to a browser: bounded in time and in streams per user, holding no DB session.

A viewer controls how fast a stream goes: a reader that never reads would hold its stream (and
whatever it holds) forever. So a stream ends after ``[runflow] ui_media_stream_seconds`` however
far it got (the connection is closed, so the browser sees an incomplete file, not a short one),
and a user runs at most ``[runflow] ui_media_streams_per_user`` streams at once in an api-server
worker process; more wait a few seconds for a free slot, then get 429. A page's thumbnails (a
browser opens six connections per host, more over HTTP/2) queue for those slots.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
QUEUE_SECONDS = 5.0
"""How long a request waits for one of its user's stream slots before it is refused (429)."""
_POLL = 0.05


@dataclass(frozen=True)
class StreamLimits:
    """``[runflow] ui_media_streams_per_user`` and ``ui_media_stream_seconds`` of the api-server."""

    per_user: int = 8
    seconds: float = 300.0

    @classmethod
    def from_config(cls) -> StreamLimits:
        from airflow.providers.common.compat.sdk import conf

        per_user = conf.getint("runflow", "ui_media_streams_per_user", fallback=cls.per_user)
        seconds = conf.getfloat("runflow", "ui_media_stream_seconds", fallback=cls.seconds)
        return cls(max(1, per_user), max(1.0, seconds))


class StreamSlots:
    """The streams each user runs in this process, taken and given back from any thread or event loop."""

    def __init__(self) -> None:
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def try_take(self, user: str, limit: int) -> bool:
        with self._lock:
            if self._running[user] >= limit:
                return False
            self._running[user] += 1
            return True

    def give_back(self, user: str) -> None:
        with self._lock:
            self._running[user] -= 1
            if self._running[user] <= 0:
                del self._running[user]

    async def take(self, user: str, limit: int, wait: float = QUEUE_SECONDS) -> bool:
        """A slot for ``user``, waiting up to ``wait`` seconds for one to be given back (polled: no loop binding)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        while not self.try_take(user, limit):
            if loop.time() >= give_up:
                return False
            await asyncio.sleep(_POLL)
        return True


SLOTS = StreamSlots()
"""This process's streams: the api-server's event loop serves them all."""


class BoundedFileResponse(StreamingResponse):
    """``file`` sent in chunks read on a worker thread; cut after ``seconds``; ``done`` is called at the end."""

    def __init__(self, file: Any, size: int | None, media_type: str, seconds: float, done: Callable[[], None]):
        headers = {"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"}
        if size is not None:
            headers["Content-Length"] = str(size)
        super().__init__(self._chunks(file), media_type=media_type, headers=headers)
        self.file, self.seconds, self.done = file, seconds, done

    @staticmethod
    async def _chunks(file: Any) -> AsyncIterator[bytes]:
        while chunk := await run_in_threadpool(file.read, CHUNK):
            yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with asyncio.timeout(self.seconds):
                await super().__call__(scope, receive, send)
        except TimeoutError:
            # Returning without the end of the body makes the server close the connection.
            log.warning("A stored media stream was cut after %.0f s ([runflow] ui_media_stream_seconds)", self.seconds)
        finally:
            self.done()
            await run_in_threadpool(self.file.close)
