"""Batches, items and runs rendered as the JSON bodies Runflow publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.emulator.media import sign_output
from airflow_provider_runflow.emulator.state import Batch, Item, Snapshot

DASHBOARD = "https://app.runflow.invalid"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def iso(moment: float | None, *, zulu: bool = True) -> str | None:
    """An ISO 8601 UTC timestamp; ``zulu=False`` keeps ``+00:00`` (callback payloads are signed as such)."""
    if moment is None:
        return None
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z") if zulu else text


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.4f}"


def duration_ms(start: float, end: float | None) -> int | None:
    return None if end is None else round((end - start) * 1000)


def item_handle(item: Item, now: float) -> dict[str, Any]:
    return {
        "id": item.id,
        "sequence_index": item.sequence_index,
        "run_id": item.run_id,
        "status_code": item.status(now),
        "client_ref": item.client_ref,
    }


def batch_output(batch: Batch, snap: Snapshot, now: float) -> dict[str, Any] | None:
    """The batch ``output`` once terminal: each item's result and the counts (also the callback's ``output``)."""
    if not snap.terminal:
        return None
    results = [
        {**item_handle(item, now), "output": item_output(item, now), "error": item_error(item, now)}
        for item in batch.items
    ]
    return {
        "items": results,
        "succeeded": snap.succeeded,
        "failed": snap.failed,
        "cancelled": snap.cancelled,
        "total": len(batch.items),
    }


def item_output(item: Item, now: float) -> dict[str, Any] | None:
    """A succeeded item's output, its media URLs signed afresh (valid for ``media_url_ttl`` from ``now``)."""
    return sign_output(item.result.output, now) if item.status(now) == "succeeded" else None


def item_error(item: Item, now: float) -> dict[str, Any] | None:
    status = item.status(now)
    if status == "cancelled":
        return {"code": "CANCELLED", "message": item.cancel_reason or "cancelled"}
    return item.result.error if status == "failed" else None


def batch_summary(batch: Batch, snap: Snapshot, now: float) -> dict[str, Any]:
    """The fields of the ``POST .../batches`` response."""
    return {
        "id": batch.id,
        "target_type": "model",
        "target_id": batch.model.id,
        "status_code": snap.status,
        "items_total": len(batch.items),
        "items_succeeded": snap.succeeded,
        "items_failed": snap.failed,
        "items_cancelled": snap.cancelled,
        "items": [item_handle(item, now) for item in batch.items],
        "created_at": iso(batch.created_at),
        "output": batch_output(batch, snap, now),
        "cost": money(snap.cost),
        "metadata": batch.metadata,
        "callback_url": batch.callback_url,
        "started_at": iso(snap.started_at),
        "completed_at": iso(snap.completed_at),
    }


def batch_detail(batch: Batch, snap: Snapshot, now: float, base_url: str) -> dict[str, Any]:
    """The ``GET /v1/batches/{id}`` body (``Batch.FullValidator``)."""
    return {
        **batch_summary(batch, snap, now),
        "org_id": batch.org_id,
        "target_type_code": "model",
        "source_code": "api",
        "input": batch.input,
        "resolved_template_id": batch.model.template_id,
        "dispatch_provider_link_id": None,
        "duration_ms": duration_ms(batch.created_at, snap.completed_at),
        "failure_code": snap.failure_code,
        "failure_message": snap.failure_message,
        "failure_stage_code": "execution" if snap.failure_code else None,
        "created_by": batch.created_by,
        "links": {"self": f"{base_url}/v1/batches/{batch.id}", "dashboard": f"{DASHBOARD}/batches/{batch.id}"},
    }


def item_row(batch: Batch, item: Item, now: float) -> dict[str, Any]:
    """One ``BatchItemRow`` of ``GET /v1/batches/{batch_id}/items``."""
    return {
        "id": item.id,
        "batch_id": batch.id,
        "sequence_index": item.sequence_index,
        "run_id": item.run_id,
        "created_at": iso(batch.created_at),
        "client_ref": item.client_ref,
        "status_code": item.status(now),
        "input": item.input,
        "cost": money(item.cost(now)),
        "output": item_output(item, now),
        "error": item_error(item, now),
        "started_at": iso(item.started_at(now)),
        "completed_at": iso(item.completed_at(now)),
    }


def run_object(batch: Batch, item: Item, now: float, base_url: str) -> dict[str, Any]:
    """The run behind an item, as embedded with ``embed=run``."""
    error = item_error(item, now)
    started, completed = item.started_at(now), item.completed_at(now)
    return {
        "id": item.run_id,
        "model_id": batch.model.id,
        "target_type": "model",
        "target_version": "1",
        "org_id": batch.org_id,
        "status_code": item.status(now),
        "source_code": "batch",
        "input": item.input,
        "output": item_output(item, now),
        "context": {},
        "duration_ms": duration_ms(started, completed) if started is not None else None,
        "cost": money(item.cost(now)),
        "cost_breakdown": {},
        "nodes_total": 1,
        "nodes_completed": 1 if completed is not None else 0,
        "resolved_template_id": batch.model.template_id,
        "batch_id": batch.id,
        "client_ref": item.client_ref,
        "request_id": None,
        "created_by": batch.created_by,
        "created_at": iso(batch.created_at),
        "started_at": iso(started),
        "completed_at": iso(completed),
        "callback_url": None,
        "metadata": {},
        "has_logs": False,
        "has_node_runs": False,
        "links": {"self": f"{base_url}/v1/runs/{item.run_id}", "dashboard": f"{DASHBOARD}/runs/{item.run_id}"},
        "failure_code": error["code"] if error else None,
        "failure_message": error["message"] if error else None,
        "failure_stage_code": "execution" if error else None,
    }


def error_body(code: str, message: str, errors: list[dict[str, Any]] | None = None) -> bytes:
    return dumps({"code": code, "message": message, "errors": errors})
