"""Fixtures of the Runflow client tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import respx
from client_support import API_KEY, BASE_URL, LoopbackServer, Reply, Runflow, make_config


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def runflow(client_kind: str) -> Callable[..., Runflow]:
    """``runflow(sleeps=None, **config_overrides)``: the client of this test's kind, against ``BASE_URL`` by default.

    With ``sleeps``, its waits are recorded there instead of slept, on an API key of its own: a 429
    closes the connection's rate gate in real time, which pretend waits never wait out.
    """

    def build(sleeps: list[float] | None = None, **overrides: Any) -> Runflow:
        if sleeps is not None:
            overrides.setdefault("api_key", f"{API_KEY}_{uuid.uuid4().hex}")
        return Runflow(client_kind, make_config(**overrides), sleeps)

    return build


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """Runflow's API mocked at the HTTP level; any request to an unmocked route fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def loopback() -> Iterator[Callable[[list[Reply]], LoopbackServer]]:
    """``loopback(replies)`` starts a threaded HTTP server on a free loopback port for this test."""
    servers: list[ThreadingHTTPServer] = []

    def start(replies: list[Reply]) -> LoopbackServer:
        script = LoopbackServer(replies)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                script.requests.append((self.command, self.path, dict(self.headers.items())))
                reply = script.next_reply()
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        script.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        return script

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
