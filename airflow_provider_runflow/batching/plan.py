"""Splitting inputs into Runflow batches, each with an Idempotency-Key that makes resubmission harmless."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_runflow.client.calls import ApiCall, create_batch, with_idempotency_key
from airflow_provider_runflow.client.models import MAX_BATCH_ITEMS, Batch, CreateBatchRequest


@dataclass(frozen=True)
class SubmissionScope:
    """What identifies one logical submission: the task instance, not its try, and the retry round.

    ``salt`` lets a user ask for new batches on purpose (e.g. ``"{{ ti.try_number }}"``);
    ``round`` numbers the re-runs of failed items (0: the first submission).
    """

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    salt: str = ""
    round: int = 0


@dataclass(frozen=True)
class Chunk:
    """One batch to create: its position, the slice of inputs it holds, and the call that creates it."""

    index: int
    start: int
    inputs: list[dict[str, Any]]
    call: ApiCall[Batch]

    @property
    def idempotency_key(self) -> str:
        return self.call.headers["Idempotency-Key"]


def fingerprint(value: Any) -> str:
    """A stable SHA-256 of a JSON value (keys sorted), so equal values give equal digests."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sent(call: ApiCall[Batch]) -> str:
    """SHA-256 of what ``call`` puts on the wire: method, path (the model) and the exact body bytes."""
    return hashlib.sha256(f"{call.method} {call.path}\n".encode() + (call.body or b"")).hexdigest()


def plan_chunks(
    inputs: list[dict[str, Any]],
    *,
    model: str,
    scope: SubmissionScope,
    chunk_size: int = MAX_BATCH_ITEMS,
    metadata: dict[str, Any] | None = None,
    callback_url: str | None = None,
) -> list[Chunk]:
    """Split ``inputs`` into chunks of at most ``chunk_size``, each with its create call and Idempotency-Key.

    A key covers the task instance, the round, the chunk's position and a digest of the exact
    request that is sent: a retry of the same task replays the same batches (nothing
    billed twice), while a changed body, whatever field changed, gets a new key instead of a 409.
    """
    if not 1 <= chunk_size <= MAX_BATCH_ITEMS:
        raise ValueError(f"chunk_size must be between 1 and {MAX_BATCH_ITEMS}, got {chunk_size}")
    chunks = []
    for index, start in enumerate(range(0, len(inputs), chunk_size)):
        part = inputs[start : start + chunk_size]
        call = create_batch(model, CreateBatchRequest(input=part, metadata=metadata, callback_url=callback_url))
        identity = [scope.dag_id, scope.task_id, scope.run_id, scope.map_index, scope.salt, index, _sent(call)]
        if scope.round:  # round 0 keeps the keys of versions without rounds, so an upgrade re-attaches
            identity.insert(5, f"round {scope.round}")
        key = "airflow-" + fingerprint(identity)[:48]
        chunks.append(Chunk(index=index, start=start, inputs=part, call=with_idempotency_key(call, key)))
    return chunks
