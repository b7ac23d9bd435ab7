"""Just enough ASGI: a request read whole, a reply, a router over route templates, and a connection drop."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
JSON = b"application/json"


@dataclass
class Request:
    """An HTTP request with its body read; ``params`` are the path parameters of its route."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    @cached_property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.query_string, keep_blank_values=True))


@dataclass
class Reply:
    """An HTTP response to send."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes = JSON


Handler = Callable[[Request], Reply]


async def read_request(scope: Scope, receive: Receive) -> Request:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    return Request(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, b"".join(chunks))


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type),
        (b"content-length", str(len(reply.body)).encode()),
        *reply.headers,
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def send_and_drop(send: Send, reply: Reply) -> None:
    """Announce the whole body's length, send a third of it, then return: the server closes the connection."""
    headers = [(b"content-type", reply.content_type), (b"content-length", str(len(reply.body) + 64).encode())]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body[: len(reply.body) // 3], "more_body": True})


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Routes requests by template; ``{name}`` matches one path segment."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, template: str, handler: Handler, *, multi_segment: tuple[str, ...] = ()) -> None:
        """Route ``template`` (``"GET /v1/batches/{id}"``); parameters in ``multi_segment`` may contain ``/``."""
        method, path = template.split(" ", 1)

        def group(found: re.Match[str]) -> str:
            name = found[1]
            return f"(?P<{name}>{'.+' if name in multi_segment else '[^/]+'})"

        regex = re.sub(r"\{(\w+)\}", group, path)
        self.routes.append(Route(template, re.compile(f"^{method} {regex}$"), handler))

    def allowed(self, path: str) -> list[str]:
        """The methods some route accepts for ``path`` (for 405 answers)."""
        methods = {route.template.split(" ", 1)[0] for route in self.routes}
        return sorted(m for m in methods if self.match(m, path) is not None)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        target = f"{method} {path}"
        for route in self.routes:
            found = route.pattern.match(target)
            if found:
                return route, found.groupdict()
        return None
