"""Callback helpers against the emulator: history, redelivery, and verifying what Runflow signed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_provider_runflow.client import build_batch_request, calls, verify_runflow_signature
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.hooks.runflow import RunflowHook


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A local callback receiver: its URL and the (signature, body) of every POST it got."""
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.headers["Runflow-Signature"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/runflow", received
    server.shutdown()
    server.server_close()


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_callbacks_verify_and_can_be_redelivered(
    runflow_connection: RunflowEmulator, inbox: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, received = inbox
    hook = RunflowHook()
    with hook.get_conn() as client:
        request = build_batch_request([{"text": "a", "run_seconds": 0.1}], callback_url=url)
        batch_id = client.send(calls.create_batch("acme/test-model", request)).id or ""
    wait_until(lambda: received)
    signature, body = received[0]
    assert verify_runflow_signature(runflow_connection.webhook_secret, body, signature)
    assert not verify_runflow_signature("whsec_someone_else", body, signature)

    [delivery] = hook.get_batch_callback(batch_id)
    assert delivery.payload_bytes is not None
    assert delivery.payload_bytes.encode() == body
    assert delivery.payload is not None
    assert delivery.payload.status == "succeeded"

    hook.redeliver_batch_callback(batch_id)
    wait_until(lambda: len(received) == 2)
    assert received[1][1] == body
    assert verify_runflow_signature(runflow_connection.webhook_secret, received[1][1], received[1][0])
