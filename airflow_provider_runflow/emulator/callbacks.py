"""Signed callback deliveries to a batch's ``callback_url`` once it is terminal, with retries and history.

Batch state is computed lazily, so a small loop wakes up when a watched batch
is due to finish (a heap of expected completion times) and starts its delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from airflow_provider_runflow.emulator.settings import EmulatorSettings
from airflow_provider_runflow.emulator.state import Batch, Store
from airflow_provider_runflow.emulator.views import batch_output, duration_ms, iso

MAX_ATTEMPTS = 5
FIRST_BACKOFF = 1.0
"""Seconds before the second attempt, doubled for each next one (times ``time_scale``)."""
TICK = 0.02


def sign(secret: str, body: bytes) -> str:
    """The ``Runflow-Signature`` of ``body``: hex HMAC-SHA256 keyed with the webhook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One callback delivery and its attempts, served by ``GET /v1/batches/{batch_id}/callback``."""

    id: str
    batch_id: str
    callback_url: str
    body: bytes
    is_automatic: bool
    created_at: float
    status_code: str = "pending"
    failure_reason_code: str | None = None
    failure_detail: str | None = None
    next_attempt_at: float | None = None
    updated_at: float | None = None
    completed_at: float | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, signing_secret_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch_id": self.batch_id,
            "callback_url": self.callback_url,
            "payload_bytes": self.body.decode(),
            "payload": json.loads(self.body),
            "signing_secret_id": signing_secret_id,
            "is_automatic": self.is_automatic,
            "status_code": self.status_code,
            "failure_reason_code": self.failure_reason_code,
            "failure_detail": self.failure_detail,
            "attempt_count": len(self.attempts),
            "max_attempts": MAX_ATTEMPTS,
            "next_attempt_at": iso(self.next_attempt_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "completed_at": iso(self.completed_at),
            "attempts": self.attempts,
        }


def callback_payload(batch: Batch, now: float) -> bytes:
    """The exact bytes POSTed (and signed): datetimes with ``+00:00``, as Runflow sends them."""
    snap = batch.snapshot(now)
    payload = {
        "event": f"batch.{snap.status}",
        "batch_id": batch.id,
        "status": snap.status,
        "output": batch_output(batch, snap, now),
        "duration_ms": duration_ms(batch.created_at, snap.completed_at),
        "created_at": iso(batch.created_at, zulu=False),
        "completed_at": iso(snap.completed_at, zulu=False),
        "metadata": batch.metadata,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class CallbackDispatcher:
    """Watches batches with a ``callback_url`` and delivers their callbacks."""

    def __init__(self, store: Store, settings: EmulatorSettings) -> None:
        self.store, self.settings = store, settings
        self.signing_secret_id = str(uuid.uuid5(uuid.NAMESPACE_URL, settings.webhook_secret))
        self._client = httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        """Forget every delivery and stop those in flight."""
        for task in list(self._tasks):
            task.cancel()
        self.attempts_made = 0
        self.deliveries: dict[str, list[Delivery]] = {}
        self._due: list[tuple[float, str]] = []
        self._delivered: set[str] = set()

    def watch(self, batch: Batch, at: float) -> None:
        """Check ``batch`` again at ``at`` (its expected completion, or now after a mutation)."""
        if batch.callback_url and batch.id not in self._delivered:
            heapq.heappush(self._due, (at, batch.id))

    def history(self, batch_id: str) -> list[dict[str, Any]]:
        return [d.to_json(self.signing_secret_id) for d in self.deliveries.get(batch_id, [])]

    def redeliver(self, batch: Batch, now: float) -> dict[str, Any]:
        """Start a manual delivery of a terminal batch's callback."""
        return self._start(batch, now, automatic=False).to_json(self.signing_secret_id)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()

    async def run(self) -> None:
        """Start the deliveries of watched batches as they become terminal, until cancelled."""
        while True:
            await asyncio.sleep(TICK)
            now = time.time()
            while self._due and self._due[0][0] <= now:
                _, batch_id = heapq.heappop(self._due)
                batch = self.store.batches.get(batch_id)
                if batch is None or batch_id in self._delivered:
                    continue
                snap = batch.snapshot(now)
                if snap.terminal:
                    self._delivered.add(batch_id)
                    self._start(batch, now, automatic=True)
                elif snap.valid_until != float("inf"):
                    heapq.heappush(self._due, (snap.valid_until, batch_id))

    def _start(self, batch: Batch, now: float, *, automatic: bool) -> Delivery:
        assert batch.callback_url is not None
        delivery = Delivery(
            self.store.new_id(), batch.id, batch.callback_url, callback_payload(batch, now), automatic, now
        )
        self.deliveries.setdefault(batch.id, []).append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        for number in range(1, MAX_ATTEMPTS + 1):
            if await self._attempt(delivery, number):
                delivery.status_code, delivery.next_attempt_at = "succeeded", None
                delivery.completed_at = delivery.updated_at
                return
            if number < MAX_ATTEMPTS:
                backoff = FIRST_BACKOFF * 2 ** (number - 1) * self.settings.time_scale
                delivery.next_attempt_at = time.time() + backoff
                await asyncio.sleep(backoff)
        delivery.status_code, delivery.next_attempt_at = "failed", None
        delivery.completed_at = delivery.updated_at
        delivery.failure_reason_code = "MAX_ATTEMPTS_EXCEEDED"

    async def _attempt(self, delivery: Delivery, number: int) -> bool:
        """POST once and record the attempt; True on a 2xx answer."""
        headers = {
            "Content-Type": "application/json",
            "Runflow-Signature": sign(self.settings.webhook_secret, delivery.body),
            "Runflow-Request-Id": str(uuid.uuid4()),
            "User-Agent": "Runflow-Webhooks/emulator",
        }
        started = time.time()
        status: int | None = None
        body = error = None
        try:
            response = await self._client.post(delivery.callback_url, content=delivery.body, headers=headers)
            status, body = response.status_code, response.text[:1000]
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        self.attempts_made += 1
        delivery.updated_at = time.time()
        ok = status is not None and 200 <= status < 300
        if not ok:
            delivery.failure_detail = error or f"HTTP {status}"
        delivery.attempts.append(
            {
                "id": str(uuid.uuid4()),
                "delivery_id": delivery.id,
                "attempt_number": number,
                "status_code": status,
                "response_body": body,
                "response_time_ms": round((delivery.updated_at - started) * 1000),
                "error_message": error if error else None if ok else f"HTTP {status}",
                "created_at": iso(started),
            }
        )
        return ok
