"""The emulator's media behind a modelled network link: each answer after ``latency``, all bodies sharing ``bandwidth``.

python -m benchmarks.media_link LATENCY BANDWIDTH   # serves on a free loopback port; prints ``PORT <port>``

It answers the emulator's media URLs (:func:`~airflow_provider_runflow.emulator.media.media_of`: the
same bytes and Content-Type) without checking signatures, images rendered once and kept, so neither
rendering nor a proxy hop is measured. Latency is the wait before the status line, once per request
(a CDN's time to first byte); bandwidth is one clock every connection draws from, piece by piece.
With both 0 it is the loopback origin.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Iterator

from aiohttp import web

from airflow_provider_runflow.emulator.media import media_of

PIECE = 256 * 1024


class Link:
    """One shared pipe: a piece leaves once every piece before it has had its share of the bandwidth."""

    def __init__(self, bandwidth: float) -> None:
        self.bandwidth, self.free_at = bandwidth, 0.0

    async def send(self, size: int) -> None:
        if not self.bandwidth:
            return
        now = time.monotonic()
        self.free_at = max(self.free_at, now) + size / self.bandwidth
        await asyncio.sleep(self.free_at - now)


def pieces(chunks: Iterator[bytes]) -> Iterator[memoryview]:
    for chunk in chunks:
        view = memoryview(chunk)
        for start in range(0, len(chunk), PIECE):
            yield view[start : start + PIECE]


def app(latency: float, bandwidth: float) -> web.Application:
    link, images = Link(bandwidth), dict[str, tuple[str, bytes]]()

    def body_of(path: str, query: str) -> tuple[str, int, Iterator[bytes]] | None:
        """The emulator's answer; an image rendered on its first request and kept."""
        if (image := images.get(path)) is None:
            found = media_of(path, query)
            if found is None or not found[0].startswith("image/"):
                return found
            image = images[path] = (found[0], b"".join(found[2]))
        return image[0], len(image[1]), iter([image[1]])

    async def media(request: web.Request) -> web.StreamResponse:
        found = body_of(request.path.removeprefix("/media"), request.query_string)
        if found is None:
            return web.Response(status=404)
        content_type, length, chunks = found
        if latency:
            await asyncio.sleep(latency)
        response = web.StreamResponse(headers={"Content-Type": content_type, "Content-Length": str(length)})
        await response.prepare(request)
        for piece in pieces(chunks):
            await link.send(len(piece))
            await response.write(piece)
        await response.write_eof()
        return response

    application = web.Application()
    application.router.add_get("/{tail:.*}", media)
    return application


async def serve(latency: float, bandwidth: float) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app(latency, bandwidth), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]), float(sys.argv[2])))
