"""Batches, items and runs, with their lifecycle computed lazily from the clock (no task per item).

Each item's start and end times are fixed when its batch is created; every
status, count and timestamp is derived from them and the time of asking.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.client.status import is_terminal, normalize_status
from airflow_provider_runflow.emulator.catalog import CatalogModel, ItemResult, JsonObject, digest
from airflow_provider_runflow.emulator.settings import EmulatorSettings

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
PARTIAL_SUCCEEDED, CANCELLED = "partial_succeeded", "cancelled"


@dataclass
class Item:
    """One batch item and the run behind it."""

    id: str
    run_id: str
    sequence_index: int
    client_ref: str | None
    input: JsonObject
    result: ItemResult
    starts_at: float
    ends_at: float
    cancelled_at: float | None = None
    cancel_reason: str | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return CANCELLED
        if now < self.starts_at:
            return QUEUED
        if now < self.ends_at:
            return RUNNING
        return FAILED if self.result.error else SUCCEEDED

    def started_at(self, now: float) -> float | None:
        return self.starts_at if now >= self.starts_at and self.status(now) != CANCELLED else None

    def completed_at(self, now: float) -> float | None:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return self.cancelled_at
        return self.ends_at if now >= self.ends_at else None

    def cost(self, now: float) -> Decimal | None:
        status = self.status(now)
        if status == SUCCEEDED:
            return self.result.cost
        return Decimal("0") if status in (FAILED, CANCELLED) else None


@dataclass(frozen=True)
class ForcedStatus:
    """A batch status set through the control API, overriding the derived one."""

    status: str
    failure_code: str | None
    failure_message: str | None
    at: float


@dataclass(frozen=True)
class Snapshot:
    """A batch's derived state at one moment, valid until ``valid_until`` (or a mutation)."""

    status: str
    succeeded: int
    failed: int
    cancelled: int
    cost: Decimal
    started_at: float | None
    completed_at: float | None
    failure_code: str | None
    failure_message: str | None
    valid_until: float

    @property
    def terminal(self) -> bool:
        return is_terminal(self.status)


@dataclass
class Batch:
    """A batch of one organisation; ``version`` changes whenever it is mutated (cancel, forced status)."""

    id: str
    org_id: str
    created_by: str
    model: CatalogModel
    input: list[JsonObject]
    items: list[Item]
    metadata: JsonObject | None
    callback_url: str | None
    created_at: float
    forced: ForcedStatus | None = None
    version: int = 0
    cache: dict[str, Any] = field(default_factory=dict)
    """Rendered bodies keyed by name, each with the version and time range it is valid for."""

    def snapshot(self, now: float) -> Snapshot:
        statuses = [item.status(now) for item in self.items]
        succeeded, failed, cancelled = (statuses.count(s) for s in (SUCCEEDED, FAILED, CANCELLED))
        done = succeeded + failed + cancelled == len(statuses)
        status = _batch_status(statuses, succeeded, cancelled, done)
        failure_code, failure_message = _failure(status, failed + cancelled, len(statuses))
        completed = [item.completed_at(now) for item in self.items] if done else []
        started = [item.starts_at for item in self.items if now >= item.starts_at]
        upcoming = [t for item in self.items for t in (item.starts_at, item.ends_at) if t > now]
        snap = Snapshot(
            status=status,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            cost=sum((item.cost(now) or Decimal("0") for item in self.items), Decimal("0")),
            started_at=min(started) if started else None,
            completed_at=max(t for t in completed if t is not None) if done else None,
            failure_code=failure_code,
            failure_message=failure_message,
            valid_until=min(upcoming) if upcoming and not done else math.inf,
        )
        return self._apply_forced(snap)

    def _apply_forced(self, snap: Snapshot) -> Snapshot:
        if self.forced is None:
            return snap
        forced = self.forced
        status = normalize_status(forced.status) or forced.status
        return Snapshot(
            status=status,
            succeeded=snap.succeeded,
            failed=snap.failed,
            cancelled=snap.cancelled,
            cost=snap.cost,
            started_at=snap.started_at,
            completed_at=forced.at if is_terminal(status) else None,
            failure_code=forced.failure_code,
            failure_message=forced.failure_message,
            valid_until=snap.valid_until,
        )

    def mutate(self) -> None:
        self.version += 1
        self.cache.clear()


def _batch_status(statuses: list[str], succeeded: int, cancelled: int, done: bool) -> str:
    if not done:
        return QUEUED if all(s == QUEUED for s in statuses) else RUNNING
    if succeeded == len(statuses):
        return SUCCEEDED
    if succeeded:
        return PARTIAL_SUCCEEDED
    return CANCELLED if cancelled == len(statuses) else FAILED


def _failure(status: str, unsuccessful: int, total: int) -> tuple[str | None, str | None]:
    if status == PARTIAL_SUCCEEDED:
        return "ITEMS_FAILED", f"{unsuccessful} of {total} items did not succeed"
    if status == FAILED:
        return "ALL_ITEMS_FAILED", f"all {total} items failed or were cancelled"
    if status == CANCELLED:
        return "CANCELLED", f"all {total} items were cancelled"
    return None, None


@dataclass(frozen=True)
class NewItem:
    """A validated item of a batch creation request."""

    input: JsonObject
    client_ref: str | None


@dataclass(frozen=True)
class IdempotentReply:
    """The first answer to an Idempotency-Key, replayed for the same body."""

    body_hash: str
    body: bytes


class Store:
    """All batches of all organisations, runs by id, and Idempotency-Key replies."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(self.settings.seed)
        self.batches: dict[str, Batch] = {}
        self.runs: dict[str, tuple[Batch, Item]] = {}
        self.idempotency: dict[tuple[str, str], IdempotentReply] = {}
        self.batches_created = 0
        self.items_created = 0
        """Items in created batches: what Runflow would bill for."""
        self.attempts: Counter[str] = Counter()
        """Runs of each input (by model and input digest) in created batches, for ``fail_attempts``."""

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def create_batch(
        self, org_id: str, created_by: str, model: CatalogModel, request: BatchRequest, now: float
    ) -> Batch:
        """Create a batch whose items are queued now and run for their drawn durations."""
        scale = self.settings.time_scale
        starts_at = now + self.settings.queue_seconds * scale
        batch = Batch(
            id=self.new_id(),
            org_id=org_id,
            created_by=created_by,
            model=model,
            input=request.raw_input,
            items=[],
            metadata=request.metadata,
            callback_url=request.callback_url,
            created_at=now,
        )
        for index, new in enumerate(request.items):
            ends_at = starts_at + self._run_seconds(new.input) * scale
            attempt = f"{model.ref} {digest(new.input)}"
            self.attempts[attempt] += 1
            result = model.run(new.input, self.attempts[attempt], self.settings.price_of(model.ref))
            item = Item(self.new_id(), self.new_id(), index, new.client_ref, new.input, result, starts_at, ends_at)
            batch.items.append(item)
            self.runs[item.run_id] = (batch, item)
        self.batches[batch.id] = batch
        self.batches_created += 1
        self.items_created += len(batch.items)
        return batch

    def _run_seconds(self, item: JsonObject) -> float:
        override = item.get("run_seconds")
        if isinstance(override, (int, float)) and not isinstance(override, bool) and override >= 0:
            return float(override)
        if isinstance(self.settings.run_seconds, tuple):
            return self.rng.uniform(*self.settings.run_seconds)
        return self.settings.run_seconds

    def find_batch(self, batch_id: str, org_id: str) -> Batch | None:
        """The batch, if it exists in ``org_id``: another organisation's batch is not found."""
        batch = self.batches.get(batch_id)
        return batch if batch is not None and batch.org_id == org_id else None

    def cancel_run(self, run_id: str, reason: str, now: float) -> tuple[Item, bool] | None:
        """Cancel a run; ``(item, True)`` when cancelled, ``(item, False)`` when already terminal."""
        found = self.runs.get(run_id)
        if found is None:
            return None
        batch, item = found
        if item.status(now) not in (QUEUED, RUNNING):
            return item, False
        item.cancelled_at, item.cancel_reason = now, reason
        batch.mutate()
        return item, True

    def force_status(self, batch: Batch, forced: ForcedStatus) -> None:
        batch.forced = forced
        batch.mutate()


@dataclass(frozen=True)
class BatchRequest:
    """A validated batch creation body."""

    raw_input: list[JsonObject]
    items: list[NewItem]
    metadata: JsonObject | None
    callback_url: str | None
