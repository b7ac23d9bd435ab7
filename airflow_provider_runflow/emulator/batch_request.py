"""Validation of ``POST /v1/models/{owner}/{slug}/batches`` bodies, answering as Runflow does (422 per item)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_runflow.client.models import MAX_BATCH_ITEMS, MAX_CALLBACK_URL_LENGTH, MAX_CLIENT_REF_LENGTH
from airflow_provider_runflow.emulator.catalog import CatalogModel
from airflow_provider_runflow.emulator.errors import ApiError, validation_error
from airflow_provider_runflow.emulator.state import BatchRequest, NewItem


def parse_batch_request(body: bytes, model: CatalogModel) -> BatchRequest:
    """The validated request, or an :class:`ApiError` naming every bad item and field."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise validation_error("request body must be a JSON object", [{"field": "body", "message": "not an object"}])
    inputs = data.get("input")
    if not isinstance(inputs, list) or not 1 <= len(inputs) <= MAX_BATCH_ITEMS:
        got = f"{len(inputs)} items" if isinstance(inputs, list) else type(inputs).__name__
        message = f"input must be a list of 1 to {MAX_BATCH_ITEMS} items, got {got}"
        raise validation_error(message, [{"field": "input", "message": message}])
    errors = _envelope_problems(data)
    items = []
    for index, raw in enumerate(inputs):
        item, problems = _parse_item(raw, model)
        errors.extend({"index": index, "field": field, "message": message} for field, message in problems)
        items.append(item)
    if errors:
        raise validation_error(f"batch request has {len(errors)} invalid field(s)", errors)
    return BatchRequest(inputs, items, data.get("metadata"), data.get("callback_url"))


def _envelope_problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    metadata, url = data.get("metadata"), data.get("callback_url")
    if metadata is not None and not isinstance(metadata, dict):
        errors.append({"field": "metadata", "message": "must be a JSON object"})
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append({"field": "callback_url", "message": "must be an absolute http(s) URL"})
        elif len(url) > MAX_CALLBACK_URL_LENGTH:
            errors.append({"field": "callback_url", "message": f"at most {MAX_CALLBACK_URL_LENGTH} characters"})
    return errors


def _parse_item(raw: Any, model: CatalogModel) -> tuple[NewItem, list[tuple[str, str]]]:
    """The item with ``client_ref`` stripped off, and its problems as ``(field, message)``."""
    if not isinstance(raw, dict):
        return NewItem({}, None), [("input", f"item must be a JSON object, got {type(raw).__name__}")]
    item = dict(raw)
    client_ref = item.pop("client_ref", None)
    problems = model.problems(item)
    if client_ref is not None and not isinstance(client_ref, str):
        problems.append(("client_ref", "must be a string"))
        client_ref = None
    elif client_ref is not None and len(client_ref) > MAX_CLIENT_REF_LENGTH:
        problems.append(("client_ref", f"{len(client_ref)} characters, at most {MAX_CLIENT_REF_LENGTH}"))
    return NewItem(item, client_ref), problems
