"""Pydantic models of Runflow's batch API bodies, as published in its API reference.

Every response field is optional and unknown fields are ignored: Runflow marks
the batch detail as all-nullable and adds fields over time, so parsing must not
break on either. Status codes are normalised (``canceled`` → ``cancelled``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from airflow_provider_runflow.client.status import normalize_status

MAX_BATCH_ITEMS = 100
"""Runflow accepts 1 to 100 items per batch creation request."""
MAX_CLIENT_REF_LENGTH = 255
MAX_CALLBACK_URL_LENGTH = 2048


def _status_code(value: Any) -> Any:
    """Normalise a status string; anything else is left for pydantic to reject as a typed error."""
    return normalize_status(value) if isinstance(value, str) else value


def _cost(value: Any) -> Decimal | None:
    """A cost as a Decimal, or None when Runflow sends something that is not a number.

    Cost is informational: a placeholder such as the API reference's ``"<string>"``
    must not make a whole batch unreadable.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        return None
    return cost if cost.is_finite() else None


StatusCode = Annotated[str | None, BeforeValidator(_status_code)]
Cost = Annotated[Decimal | None, BeforeValidator(_cost)]
JsonObject = dict[str, Any]


class RunflowModel(BaseModel):
    """Lenient base for response bodies: unknown fields ignored, extra keys never fail parsing."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Timed(RunflowModel):
    """When a batch, run or item was created, started and completed."""

    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


class _Work(_Timed):
    """What a batch and a run both report: their status, cost, metadata, links and why they failed."""

    org_id: str | None = None
    status_code: StatusCode = None
    source_code: str | None = None
    cost: Cost = None
    metadata: JsonObject | None = None
    duration_ms: int | None = None
    links: JsonObject | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    failure_stage_code: str | None = None


class BatchItemHandle(RunflowModel):
    """Lean per-item handle inlined in batch creation and batch detail responses."""

    id: str | None = None
    sequence_index: int | None = None
    run_id: str | None = None
    status_code: StatusCode = None
    client_ref: str | None = None


class BatchStatus(_Work):
    """What polling reads of ``GET /v1/batches/{id}``: a batch without its inputs and items."""

    id: str | None = None
    target_type_code: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    items_total: int | None = None
    items_succeeded: int | None = None
    items_failed: int | None = None
    items_cancelled: int | None = None


class Batch(BatchStatus):
    """A batch as returned by ``POST .../batches`` (a subset) and ``GET /v1/batches/{id}``."""

    input: list[JsonObject] | None = None
    resolved_template_id: str | None = None
    dispatch_provider_link_id: str | None = None
    output: JsonObject | None = None
    callback_url: str | None = None
    created_by: str | None = None
    items: list[BatchItemHandle] | None = None


class Run(_Work):
    """The run behind a batch item, embedded in item rows with ``embed=run`` (main fields only)."""

    id: str | None = None
    model_id: str | None = None
    target_type: str | None = None
    target_version: str | None = None
    input: JsonObject | None = None
    output: JsonObject | None = None
    batch_id: str | None = None
    client_ref: str | None = None
    request_id: str | None = None


class BatchItemRow(_Timed):
    """Full per-item projection from ``GET /v1/batches/{batch_id}/items``."""

    id: str | None = None
    batch_id: str | None = None
    sequence_index: int | None = None
    run_id: str | None = None
    client_ref: str | None = None
    status_code: StatusCode = None
    input: JsonObject | None = None
    cost: Cost = None
    output: JsonObject | None = None
    error: JsonObject | None = None
    run: Run | None = None


class BatchItemsPage(RunflowModel):
    """One page of batch items; cursors are published as ``next``/``previous`` and as ``next_pq``/``prev_pq``."""

    items: list[BatchItemRow] = Field(default_factory=list)
    first: str | None = None
    next: str | None = Field(default=None, validation_alias=AliasChoices("next", "next_pq"))
    previous: str | None = Field(default=None, validation_alias=AliasChoices("previous", "prev_pq"))


class CallbackPayload(RunflowModel):
    """What Runflow POSTs to a batch's ``callback_url`` when the batch is terminal."""

    event: str | None = None
    batch_id: str | None = None
    status: StatusCode = None
    output: JsonObject | None = None
    duration_ms: int | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    metadata: JsonObject | None = None


class CallbackAttempt(RunflowModel):
    """One HTTP attempt at delivering a callback."""

    id: str | None = None
    delivery_id: str | None = None
    attempt_number: int | None = None
    status_code: int | None = None
    response_body: str | None = None
    response_time_ms: int | None = None
    error_message: str | None = None
    created_at: datetime | None = None


class CallbackDelivery(RunflowModel):
    """A batch callback delivery with its attempts, from ``GET /v1/batches/{batch_id}/callback``."""

    id: str | None = None
    batch_id: str | None = None
    callback_url: str | None = None
    payload_bytes: str | None = None
    payload: CallbackPayload | None = None
    signing_secret_id: str | None = None
    is_automatic: bool | None = None
    status_code: str | None = None
    failure_reason_code: str | None = None
    failure_detail: str | None = None
    attempt_count: int | None = None
    max_attempts: int | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: list[CallbackAttempt] | None = None


class ErrorResponse(RunflowModel):
    """Runflow's error envelope; ``errors`` holds per-item or per-field details when given."""

    code: str | None = None
    message: str | None = None
    errors: list[JsonObject] | None = None


class CreateBatchRequest(BaseModel):
    """Body of ``POST /v1/models/{owner}/{slug}/batches``; build it with :func:`build_batch_request`."""

    model_config = ConfigDict(extra="forbid")

    input: list[JsonObject]
    metadata: JsonObject | None = None
    callback_url: str | None = None
