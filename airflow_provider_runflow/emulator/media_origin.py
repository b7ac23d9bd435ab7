"""The media host: a separate origin (its own port) serving signed ``/media`` URLs.

It injects faults of its own (``FaultRule``s with route ``"*"``: 5xx, 429, a connection dropped
mid-body, a body that stalls) and logs every request's headers as received, so tests can assert that
no Runflow API key or organisation id ever reaches it. Control routes live under ``/_media/``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_runflow.emulator.faults import Fault, FaultKind, FaultPlan, FaultRule
from airflow_provider_runflow.emulator.media import SIGNER, media_of
from airflow_provider_runflow.emulator.settings import EmulatorSettings

LOG_SIZE = 100_000
_REFUSALS = {
    FaultKind.SERVER_ERROR: (500, "text/plain", b"internal error (injected)"),
    FaultKind.UNAVAILABLE: (503, "text/plain", b"slow down (injected)"),
    FaultKind.BAD_GATEWAY: (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    FaultKind.RATE_LIMIT: (429, "text/plain", b"too many requests (injected)"),
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER: (429, "text/plain", b"too many requests (injected)"),
}


_NOT_FOUND = b'{"code":"NOT_FOUND"}'


def _reply(status: int, body: bytes, content_type: str = "application/json") -> Response:
    """A response with exactly this content type (no charset added: the origin's clients see what a CDN sends)."""
    return Response(body, status, headers={"content-type": content_type})


def _denied(reason: str) -> bytes:
    return f"<Error><Code>AccessDenied</Code><Message>{reason}</Message></Error>".encode()


async def _not_found(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods alike: a bucket answers 404, not 405."""
    return _reply(404, _NOT_FOUND)


class MediaOrigin:
    """ASGI app of the media host: Starlette routes, and a log of every media request with its outcome."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.faults = FaultPlan(settings.seed)
        self.faults.replace(settings.media_faults)
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        routes = [
            Route("/media/{path:path}", self.media),
            Route("/_media/requests", self.requests),
            Route("/_media/faults", self.set_faults, methods=["PUT"]),
            Route("/_media/reset", self.reset, methods=["POST"]),
        ]
        self.app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
        self.app.router.redirect_slashes = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_media/"):
            await self.app(scope, receive, send)
            return
        watched = _Watched(send)
        await self.app(scope, receive, watched)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        entry = {"at": time.time(), "method": scope["method"], "path": scope["path"], "status": watched.outcome}
        self.log.append({**entry, "headers": headers})

    async def media(self, request: Request) -> ASGIApp:
        path, query = "/" + request.path_params["path"], request.scope["query_string"].decode("latin-1")
        refusal = SIGNER.verify(path, query, time.time())
        if refusal:
            return _reply(403, _denied(refusal), "application/xml")
        found = media_of(path, query)
        if found is None:
            return _reply(404, _NOT_FOUND)
        fault = self.faults.pick("*")
        if fault is not None and fault.kind in _REFUSALS:
            status, content_type, body = _REFUSALS[fault.kind]
            return _reply(status, body, content_type)
        return _Stream(found, fault)

    async def requests(self, request: Request) -> Response:
        return _reply(200, json.dumps(list(self.log)).encode())

    async def set_faults(self, request: Request) -> Response:
        self.faults.replace(FaultRule.from_json(rule) for rule in json.loads(await request.body() or b"[]"))
        return _reply(200, b"{}")

    async def reset(self, request: Request) -> Response:
        self.faults.replace(())
        self.log.clear()
        return _reply(200, b"{}")


@dataclass
class _Watched:
    """The ``send`` of a media request: its outcome is the status sent, or ``dropped`` if the body never ended."""

    send: Send
    status: str = ""
    ended: bool = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = str(message["status"])
        elif not message.get("more_body"):
            self.ended = True
        await self.send(message)

    @property
    def outcome(self) -> str:
        return self.status if self.ended else "dropped"


@dataclass(frozen=True)
class _Stream:
    """The media, sent in chunks; ``drop_connection`` stops after half the body, ``delay`` stalls halfway.

    Raw ASGI, as no response class can stop mid-body: returning without the last body message
    makes the server close the connection.
    """

    found: tuple[str, int, Any]
    fault: Fault | None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type, length, chunks = self.found
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(length).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        kind, half, sent = self.fault.kind if self.fault else None, length // 2, 0
        for chunk in chunks:
            if kind in (FaultKind.DROP_CONNECTION, FaultKind.DELAY) and sent <= half < sent + len(chunk):
                await send({"type": "http.response.body", "body": chunk[: half - sent], "more_body": True})
                if kind is FaultKind.DROP_CONNECTION:
                    return
                assert self.fault is not None
                await asyncio.sleep(self.fault.delay)
                chunk, sent = chunk[half - sent :], half
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
        await send({"type": "http.response.body", "body": b""})


class Origins:
    """Routes each connection by the port it arrived on: the media port to :class:`MediaOrigin`, others to the API."""

    def __init__(self, api: ASGIApp, media: MediaOrigin, media_port: int) -> None:
        self.api, self.media, self.media_port = api, media, media_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or (None, None)
        if scope["type"] == "http" and server[1] == self.media_port:
            await self.media(scope, receive, send)
        else:
            await self.api(scope, receive, send)
