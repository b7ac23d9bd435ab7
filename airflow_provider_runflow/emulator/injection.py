"""Latency and faults on the Runflow routes, as a raw ASGI middleware around the Starlette app.

Raw ASGI because two faults need what a response object cannot say: a Content-Length the body
never reaches, then a closed connection. The middleware announces the length, sends a third of
the body and returns; uvicorn then closes the connection, as it does for any incomplete response.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_runflow.emulator import routes
from airflow_provider_runflow.emulator.control import PREFIX
from airflow_provider_runflow.emulator.faults import Fault, FaultKind, FaultPlan
from airflow_provider_runflow.emulator.stats import Stats
from airflow_provider_runflow.emulator.views import error_body
from airflow_provider_runflow.emulator.web import json_reply

_REFUSALS = {
    FaultKind.RATE_LIMIT: (429, "RATE_LIMITED", "rate limit exceeded"),
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER: (429, "RATE_LIMITED", "rate limit exceeded"),
    FaultKind.SERVER_ERROR: (500, "INTERNAL_ERROR", "internal server error (injected)"),
    FaultKind.UNAVAILABLE: (503, "SERVICE_UNAVAILABLE", "service unavailable (injected)"),
}
_SERVED_THEN_SPOILT = {FaultKind.LOSE_RESPONSE, FaultKind.TRUNCATED_PAGE, FaultKind.DELAY}
_DROPS = {FaultKind.DROP_CONNECTION, FaultKind.LOSE_RESPONSE}
_SPOILERS = {*_DROPS, FaultKind.TRUNCATED_PAGE}


class FaultInjection:
    """Delays, refuses or spoils requests of the ``runflow`` routes as ``faults`` decide, and counts each in ``stats``.

    Control routes (``/_emulator/``) pass straight through. The route template of a request is
    found here, before the app routes it, because the fault must be picked before the handler
    runs: a refused request must change nothing.
    """

    def __init__(self, app: ASGIApp, runflow: Sequence[Route], faults: FaultPlan, stats: Stats, latency: float) -> None:
        self.app, self.faults, self.stats, self.latency = app, faults, stats, latency
        # Starlette's Route.matches also builds the child scope, six times the cost: only the name is needed here.
        self._routes = [(route.path_regex.match, route.methods or set(), route.name) for route in runflow]
        self._request_ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        route = self._template(scope)
        fault = self.faults.pick(route) if route != routes.UNMATCHED else None
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay)
        request_id = f"req_{next(self._request_ids):012d}".encode()
        spoil = fault.kind if fault is not None and fault.kind in _SPOILERS else None
        outgoing = _Outgoing(send, request_id, lambda outcome: self.stats.record(scope, route, outcome), spoil)
        if fault is None or fault.kind in _SERVED_THEN_SPOILT:
            await self.app(scope, receive, outgoing)
        else:
            await _fault_response(fault)(scope, receive, outgoing)

    def _template(self, scope: Scope) -> str:
        """The name (route template) of the Runflow route that serves this request, or ``UNMATCHED``."""
        path, method = scope["path"], scope["method"]
        for matches, methods, name in self._routes:
            if method in methods and matches(path):
                return name
        return routes.UNMATCHED


@dataclass
class _Outgoing:
    """The ``send`` the app gets: stamps a request id, counts the outcome, and spoils the response as ``spoil`` says."""

    send: Send
    request_id: bytes
    record: Callable[[str], None]
    spoil: FaultKind | None
    held: Message | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message["headers"], (b"runflow-request-id", self.request_id)]
            if self.spoil is None:
                self.record(str(message["status"]))
                await self.send(message)
            else:
                self.held = message  # sent with the body, whose length the spoilt headers must state
        elif self.held is None:
            await self.send(message)
        else:
            await self._spoil(self.held, message.get("body", b""))

    async def _spoil(self, start: Message, body: bytes) -> None:
        """Truncate the body to half (a complete response), or announce it whole, send a third and stop."""
        dropping = self.spoil in _DROPS
        sent = body[: len(body) // 3] if dropping else body[: len(body) // 2]
        length = len(body) + 64 if dropping else len(sent)
        headers = [(name, value) for name, value in start["headers"] if name.lower() != b"content-length"]
        self.record("dropped" if dropping else str(start["status"]))
        await self.send({**start, "headers": [*headers, (b"content-length", str(length).encode())]})
        await self.send({"type": "http.response.body", "body": sent, "more_body": dropping})


def _fault_response(fault: Fault) -> Response:
    """The response a fault sends instead of serving the request."""
    if fault.kind in _REFUSALS:
        status, code, message = _REFUSALS[fault.kind]
        headers = {"retry-after": str(fault.retry_after)} if fault.kind is FaultKind.RATE_LIMIT else None
        return json_reply(error_body(code, message), status, headers)
    if fault.kind is FaultKind.BAD_GATEWAY:
        return Response(b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html")
    if fault.kind is FaultKind.MALFORMED_JSON:
        return json_reply(b'{"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status_code": "succ')
    return json_reply(error_body("DROPPED", "this response is never completed"))
