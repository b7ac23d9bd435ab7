"""Signed batch callbacks: delivery, retries, history and redelivery, received by a local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from emulator_support import wait_terminal

from airflow_provider_runflow.client import (
    RunflowClient,
    RunflowConflictError,
    RunflowValidationError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.emulator import RunflowEmulator


@dataclass
class Receiver:
    """Records each POST; answers the statuses in ``script`` first, then 200."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(self.received) >= count, f"received {len(self.received)} callbacks, expected {count}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.script.pop(0) if state.script else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/runflow"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["runflow-signature"])


def test_terminal_batch_posts_a_signed_callback(
    emu: RunflowEmulator, client: RunflowClient, receiver: Receiver
) -> None:
    request = build_batch_request([{"text": "a"}, {"text": "b", "fail": True}], {"job": 42}, receiver.url)
    batch = wait_terminal(client, client.send(calls.create_batch("acme/test-model", request)).id or "")
    receiver.wait_for(1)
    headers, body = receiver.received[0]
    assert _verified(emu.webhook_secret, headers, body)
    assert not _verified("whsec_wrong", headers, body)
    assert headers["runflow-request-id"]
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert (payload["event"], payload["batch_id"], payload["status"]) == (
        "batch.partial_succeeded",
        batch.id,
        "partial_succeeded",
    )
    assert {k: payload["output"][k] for k in ("succeeded", "failed", "cancelled", "total")} == {
        "succeeded": 1,
        "failed": 1,
        "cancelled": 0,
        "total": 2,
    }
    assert [item["status_code"] for item in payload["output"]["items"]] == ["succeeded", "failed"]
    assert payload["metadata"] == {"job": 42}
    assert payload["duration_ms"] == batch.duration_ms
    assert payload["created_at"].endswith("+00:00")
    assert payload["completed_at"].endswith("+00:00")


def test_delivery_history_holds_the_exact_bytes_sent(client: RunflowClient, receiver: Receiver) -> None:
    request = build_batch_request([{"text": "a"}], callback_url=receiver.url)
    batch_id = client.send(calls.create_batch("acme/test-model", request)).id or ""
    receiver.wait_for(1)
    (delivery,) = _settled(client, batch_id)
    assert delivery.payload_bytes is not None
    assert delivery.payload_bytes.encode() == receiver.received[0][1]
    assert (delivery.status_code, delivery.is_automatic, delivery.attempt_count) == ("succeeded", True, 1)
    assert delivery.attempts is not None
    assert delivery.attempts[0].status_code == 200
    assert delivery.payload is not None
    assert delivery.payload.status == "succeeded"


def test_failed_deliveries_are_retried_and_recorded(client: RunflowClient, receiver: Receiver) -> None:
    receiver.script = [500, 503]
    batch_id = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}], callback_url=receiver.url))
    ).id
    receiver.wait_for(3)
    (delivery,) = _settled(client, batch_id or "")
    assert delivery.attempts is not None
    assert [(a.attempt_number, a.status_code) for a in delivery.attempts] == [(1, 500), (2, 503), (3, 200)]
    assert delivery.status_code == "succeeded"
    assert delivery.failure_detail == "HTTP 503"
    assert len({body for _, body in receiver.received}) == 1


def test_unreachable_callback_gives_up_after_max_attempts(client: RunflowClient) -> None:
    request = build_batch_request([{"text": "a"}], callback_url="http://127.0.0.1:9/nothing-listens-here")
    batch_id = client.send(calls.create_batch("acme/test-model", request)).id or ""
    (delivery,) = _settled(client, batch_id)
    assert (delivery.status_code, delivery.attempt_count, delivery.failure_reason_code) == (
        "failed",
        5,
        "MAX_ATTEMPTS_EXCEEDED",
    )
    assert delivery.attempts is not None
    assert all(a.status_code is None and a.error_message for a in delivery.attempts)


def test_redelivery_sends_the_callback_again(client: RunflowClient, receiver: Receiver) -> None:
    batch_id = client.send(
        calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}], callback_url=receiver.url))
    ).id
    receiver.wait_for(1)
    client.send(calls.redeliver_batch_callback(batch_id or ""))
    receiver.wait_for(2)
    assert receiver.received[0][1] == receiver.received[1][1]
    assert [d.is_automatic for d in _settled(client, batch_id or "")] == [True, False]


def test_redelivery_needs_a_terminal_batch_with_a_callback_url(client: RunflowClient, receiver: Receiver) -> None:
    running = build_batch_request([{"text": "a", "run_seconds": 50.0}], callback_url=receiver.url)
    with pytest.raises(RunflowConflictError):
        client.send(
            calls.redeliver_batch_callback(client.send(calls.create_batch("acme/test-model", running)).id or "")
        )
    plain = wait_terminal(
        client, client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}]))).id or ""
    )
    with pytest.raises(RunflowValidationError):
        client.send(calls.redeliver_batch_callback(plain.id or ""))
    assert client.send(calls.get_batch_callback(plain.id or "")) == []


def test_forced_terminal_status_triggers_the_callback(
    emu: RunflowEmulator, client: RunflowClient, receiver: Receiver
) -> None:
    request = build_batch_request([{"text": "a", "run_seconds": 50.0}], callback_url=receiver.url)
    batch_id = client.send(calls.create_batch("acme/test-model", request)).id or ""
    emu.force_batch_status(batch_id, "errored", "DISPATCH_FAILED", "no worker available")
    receiver.wait_for(1)
    payload = json.loads(receiver.received[0][1])
    assert (payload["event"], payload["status"]) == ("batch.errored", "errored")


def _settled(client: RunflowClient, batch_id: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """The batch's deliveries once none is pending any more."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = client.send(calls.get_batch_callback(batch_id))
        if (deliveries and all(d.status_code != "pending" for d in deliveries)) or time.monotonic() > deadline:
            return deliveries
        time.sleep(0.01)
