"""A task's request, checked once, split into Runflow batches with Idempotency-Keys that make resubmission harmless."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_runflow.client.calls import ApiCall, create_batch, with_idempotency_key
from airflow_provider_runflow.client.models import MAX_BATCH_ITEMS, Batch, CreateBatchRequest
from airflow_provider_runflow.client.validation import (
    parse_model_ref,
    validate_callback_url,
    validate_inputs,
    validate_metadata,
)


def check_chunk_size(chunk_size: int) -> None:
    """Runflow takes at most 100 items per batch."""
    if not 1 <= chunk_size <= MAX_BATCH_ITEMS:
        raise ValueError(f"chunk_size must be between 1 and {MAX_BATCH_ITEMS}, got {chunk_size!r}")


@dataclass(frozen=True)
class BatchRequest:
    """What a task asks Runflow to run, checked locally once: build it with :meth:`checked`.

    Every batch body is then cut from these inputs without checking them again.
    """

    model: str
    inputs: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    callback_url: str | None = None
    chunk_size: int = MAX_BATCH_ITEMS

    def __post_init__(self) -> None:
        check_chunk_size(self.chunk_size)

    @classmethod
    def checked(
        cls,
        model: str,
        inputs: Any,
        metadata: Any = None,
        callback_url: str | None = None,
        chunk_size: int = MAX_BATCH_ITEMS,
    ) -> BatchRequest:
        """The request, or :class:`~airflow_provider_runflow.client.RunflowInputError` naming every problem."""
        parse_model_ref(model)
        checked = validate_inputs(inputs)
        validate_metadata(metadata)
        validate_callback_url(callback_url)
        return cls(model, checked, dict(metadata) if metadata else None, callback_url, chunk_size)


@dataclass(frozen=True)
class SubmissionScope:
    """What identifies one logical submission: the task instance, not its try, and the round.

    ``salt`` lets a user ask for new batches on purpose (e.g. ``"{{ ti.try_number }}"``);
    ``round`` numbers the re-runs of items (0: the first submission).
    """

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    salt: str = ""
    round: int = 0


@dataclass(frozen=True)
class Chunk:
    """One batch to create: its position, the input indexes it holds, and the call that creates it."""

    index: int
    indices: list[int]
    call: ApiCall[Batch]

    @property
    def idempotency_key(self) -> str:
        return self.call.headers["Idempotency-Key"]

    def span(self) -> str:
        """The inputs it holds, as a person reads them: ``input[100] to input[199]``."""
        first, last = self.indices[0], self.indices[-1]
        return f"input[{first}]" if first == last else f"input[{first}] to input[{last}]"


def fingerprint(value: Any) -> str:
    """A stable SHA-256 of a JSON value (keys sorted), so equal values give equal digests."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sent(call: ApiCall[Batch]) -> str:
    """SHA-256 of what ``call`` puts on the wire: method, path (the model) and the exact body bytes."""
    return hashlib.sha256(f"{call.method} {call.path}\n".encode() + (call.body or b"")).hexdigest()


def plan_chunks(
    request: BatchRequest,
    scope: SubmissionScope,
    indices: Sequence[int] | None = None,
    replaced: dict[int, dict[str, Any]] | None = None,
) -> list[Chunk]:
    """Batches of the inputs at ``indices`` (default: all), in order, at most ``chunk_size`` each.

    ``replaced`` gives some inputs new fields for this round (a reviewer's changes). A key covers
    the task instance, the round, the chunk's position and a digest of the exact request that is
    sent: a retry of the same task replays the same batches (nothing billed twice), while a
    changed body, whatever field changed, gets a new key instead of a 409.
    """
    order = list(range(len(request.inputs)) if indices is None else indices)
    replaced = replaced or {}
    chunks = []
    for index, start in enumerate(range(0, len(order), request.chunk_size)):
        part = order[start : start + request.chunk_size]
        inputs = [{**request.inputs[i], **replaced.get(i, {})} for i in part]
        # Checked once, as a whole, by BatchRequest.checked: no second check per batch.
        body = CreateBatchRequest.model_construct(
            input=inputs, metadata=request.metadata, callback_url=request.callback_url
        )
        call = create_batch(request.model, body, checked=True)
        identity = [scope.dag_id, scope.task_id, scope.run_id, scope.map_index, scope.salt, index, _sent(call)]
        if scope.round:  # round 0 keeps the keys of versions without rounds, so an upgrade re-attaches
            identity.insert(5, f"round {scope.round}")
        key = "airflow-" + fingerprint(identity)[:48]
        chunks.append(Chunk(index=index, indices=part, call=with_idempotency_key(call, key)))
    return chunks
