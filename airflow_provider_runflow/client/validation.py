"""Local checks of what Runflow would reject, run before any request is sent.

Every problem names the item (its index in the caller's list) and the field, so
a user can fix a 1,000-item input without guessing which entry was wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_runflow.client.errors import InputProblem, RunflowInputError
from airflow_provider_runflow.client.models import (
    MAX_BATCH_ITEMS,
    MAX_CALLBACK_URL_LENGTH,
    MAX_CLIENT_REF_LENGTH,
    CreateBatchRequest,
)


def parse_model_ref(model: str) -> tuple[str, str]:
    """Split ``"owner/slug"`` into its parts; the slug may itself contain ``/``."""
    owner, _, slug = model.strip().partition("/") if isinstance(model, str) else ("", "", "")
    if not owner or not slug or "" in slug.split("/"):
        raise RunflowInputError([InputProblem(None, "model", f"expected 'owner/slug', got {model!r}")])
    return owner, slug


def _json_problem(value: Any) -> str | None:
    """Why ``value`` cannot be sent as JSON, or None when it can."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        return f"not JSON-serializable ({err})"
    return None


def _field_problems(index: int, item: Mapping[Any, Any]) -> list[InputProblem]:
    problems: list[InputProblem] = []
    for key, value in item.items():
        if not isinstance(key, str):
            problems.append(InputProblem(index, repr(key), "field names must be strings"))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(InputProblem(index, key, f"{value} is not valid JSON"))
        elif reason := _json_problem(value):
            problems.append(InputProblem(index, key, reason))
    ref = item.get("client_ref")
    if ref is not None and not isinstance(ref, str):
        problems.append(InputProblem(index, "client_ref", f"must be a string, got {type(ref).__name__}"))
    elif isinstance(ref, str) and len(ref) > MAX_CLIENT_REF_LENGTH:
        problems.append(InputProblem(index, "client_ref", f"{len(ref)} characters, at most {MAX_CLIENT_REF_LENGTH}"))
    return problems


def validate_inputs(inputs: Any, *, max_items: int | None = None) -> list[dict[str, Any]]:
    """Check a list of batch inputs and return it as a list of dicts, or raise :class:`RunflowInputError`."""
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Sequence):
        raise RunflowInputError([InputProblem(None, "inputs", f"must be a list, got {type(inputs).__name__}")])
    if not inputs:
        raise RunflowInputError([InputProblem(None, "inputs", "is empty: a batch needs at least one item")])
    if max_items is not None and len(inputs) > max_items:
        raise RunflowInputError(
            [InputProblem(None, "inputs", f"{len(inputs)} items, a batch takes at most {max_items}")]
        )
    problems: list[InputProblem] = []
    for index, item in enumerate(inputs):
        if not isinstance(item, Mapping):
            problems.append(InputProblem(index, None, f"must be a JSON object, got {type(item).__name__}"))
        else:
            problems.extend(_field_problems(index, item))
    if problems:
        raise RunflowInputError(problems)
    return [dict(item) for item in inputs]


def validate_callback_url(url: str | None) -> None:
    """Check that ``url`` is an absolute http(s) URL of at most 2048 characters, when given."""
    if url is None:
        return
    problem = None
    if not isinstance(url, str):
        problem = f"must be a string, got {type(url).__name__}"
    elif len(url) > MAX_CALLBACK_URL_LENGTH:
        problem = f"{len(url)} characters, at most {MAX_CALLBACK_URL_LENGTH}"
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problem = f"must be an absolute http(s) URL, got {url!r}"
    if problem:
        raise RunflowInputError([InputProblem(None, "callback_url", problem)])


def validate_metadata(metadata: Any) -> None:
    """Check that ``metadata`` is a JSON object, when given."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise RunflowInputError(
            [InputProblem(None, "metadata", f"must be a JSON object, got {type(metadata).__name__}")]
        )
    if reason := _json_problem(metadata):
        raise RunflowInputError([InputProblem(None, "metadata", reason)])


def build_batch_request(inputs: Any, metadata: Any = None, callback_url: str | None = None) -> CreateBatchRequest:
    """Validate one batch's body locally and build it."""
    items = validate_inputs(inputs, max_items=MAX_BATCH_ITEMS)
    validate_metadata(metadata)
    validate_callback_url(callback_url)
    return CreateBatchRequest(input=items, metadata=dict(metadata) if metadata else None, callback_url=callback_url)
