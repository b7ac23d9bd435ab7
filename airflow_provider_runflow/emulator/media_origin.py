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
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from airflow_provider_runflow.emulator.faults import Fault, FaultKind, FaultPlan, FaultRule
from airflow_provider_runflow.emulator.media import SIGNER, media_of
from airflow_provider_runflow.emulator.settings import EmulatorSettings

LOG_SIZE = 100_000
_REFUSALS = {
    FaultKind.SERVER_ERROR: (500, b"text/plain", b"internal error (injected)"),
    FaultKind.UNAVAILABLE: (503, b"text/plain", b"slow down (injected)"),
    FaultKind.BAD_GATEWAY: (502, b"text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    FaultKind.RATE_LIMIT: (429, b"text/plain", b"too many requests (injected)"),
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER: (429, b"text/plain", b"too many requests (injected)"),
}


async def _reply(send: Send, status: int, body: bytes, content_type: bytes = b"application/json") -> str:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return str(status)


def _denied(reason: str) -> bytes:
    return f"<Error><Code>AccessDenied</Code><Message>{reason}</Message></Error>".encode()


class MediaOrigin:
    """ASGI app of the media host."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.faults = FaultPlan(settings.seed)
        self.faults.replace(settings.media_faults)
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        query = scope["query_string"].decode("latin-1")
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if path.startswith("/_media/"):
            await self._control(method, path, await _body(receive), send)
            return
        status = await self._serve(method, path, query, send)
        self.log.append({"at": time.time(), "method": method, "path": path, "status": status, "headers": headers})

    async def _serve(self, method: str, path: str, query: str, send: Send) -> str:
        if method != "GET" or not path.startswith("/media/"):
            return await _reply(send, 404, b'{"code":"NOT_FOUND"}')
        refusal = SIGNER.verify(path[len("/media") :], query, time.time())
        if refusal:
            return await _reply(send, 403, _denied(refusal), b"application/xml")
        found = media_of(path[len("/media") :], query)
        if found is None:
            return await _reply(send, 404, b'{"code":"NOT_FOUND"}')
        fault = self.faults.pick("*")
        if fault is not None and fault.kind in _REFUSALS:
            status, content_type, body = _REFUSALS[fault.kind]
            return await _reply(send, status, body, content_type)
        return await _stream(send, found, fault)

    async def _control(self, method: str, path: str, body: bytes, send: Send) -> None:
        if (method, path) == ("GET", "/_media/requests"):
            await _reply(send, 200, json.dumps(list(self.log)).encode())
        elif (method, path) == ("PUT", "/_media/faults"):
            self.faults.replace(FaultRule.from_json(rule) for rule in json.loads(body or b"[]"))
            await _reply(send, 200, b"{}")
        elif (method, path) == ("POST", "/_media/reset"):
            self.faults.replace(())
            self.log.clear()
            await _reply(send, 200, b"{}")
        else:
            await _reply(send, 404, b'{"code":"NOT_FOUND"}')


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _stream(send: Send, found: tuple[str, int, Any], fault: Fault | None) -> str:
    """Send the media; ``drop_connection`` stops after half the body, ``delay`` stalls halfway."""
    content_type, length, chunks = found
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    kind, half, sent = fault.kind if fault else None, length // 2, 0
    for chunk in chunks:
        if kind in (FaultKind.DROP_CONNECTION, FaultKind.DELAY) and sent <= half < sent + len(chunk):
            await send({"type": "http.response.body", "body": chunk[: half - sent], "more_body": True})
            if kind is FaultKind.DROP_CONNECTION:
                return "dropped"  # returning without the last body message makes the server close the connection
            assert fault is not None
            await asyncio.sleep(fault.delay)
            chunk, sent = chunk[half - sent :], half
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        sent += len(chunk)
    await send({"type": "http.response.body", "body": b""})
    return "200"


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
