"""The emulator's built-in models: declared inputs, and outputs derived deterministically from each input."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.emulator.media import image_placeholder, video_placeholder

JsonObject = dict[str, Any]
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


@dataclass(frozen=True)
class ModelInput:
    """One declared input of a model."""

    name: str
    type: str
    required: bool = False

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this input, or None."""
        if value is None:
            return "is required" if self.required else None
        allowed = _TYPES[self.type]
        if isinstance(value, bool) and bool not in allowed:
            return f"must be of type {self.type}, got boolean"
        if not isinstance(value, allowed):
            return f"must be of type {self.type}, got {type(value).__name__}"
        if self.required and isinstance(value, str) and not value.strip():
            return "must not be empty"
        return None


@dataclass(frozen=True)
class ItemResult:
    """What running one item produces: an output, or an error object."""

    output: JsonObject | None
    error: JsonObject | None
    cost: Decimal


@dataclass(frozen=True)
class CatalogModel:
    """A model of the catalog; only ``batch_capable`` (template-backed) models accept batches."""

    owner: str
    slug: str
    inputs: tuple[ModelInput, ...]
    price: Decimal
    render: Callable[[JsonObject], JsonObject]
    batch_capable: bool = True

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"runflow-emulator/models/{self.ref}"))

    @property
    def template_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"runflow-emulator/templates/{self.ref}"))

    def problems(self, item: JsonObject) -> list[tuple[str, str]]:
        """``(field, message)`` for each declared input ``item`` gets wrong."""
        found = ((spec.name, spec.problem(item.get(spec.name))) for spec in self.inputs)
        return [(name, message) for name, message in found if message]

    def run(self, item: JsonObject, attempt: int = 1, price: Decimal | None = None) -> ItemResult:
        """The result of the ``attempt``-th run of this model on a validated ``item``, at ``price`` (default its own).

        ``fail=true`` fails every attempt (a permanent failure); ``fail_attempts=K`` fails the
        first K attempts of the same input and then succeeds (a transient one, e.g. a lost GPU).
        A ``cost`` input (test model) is what that item costs, for inputs of unequal price.
        """
        declared = {spec.name for spec in self.inputs}
        if item.get("fail") is True and "fail" in declared:
            error = {"code": "MODEL_ERROR", "message": f"{self.ref} failed on purpose (input fail=true)"}
            return ItemResult(None, error, Decimal("0"))
        if "fail_attempts" in declared and attempt <= (item.get("fail_attempts") or 0):
            error = {"code": "WORKER_LOST", "message": f"the GPU worker went away (attempt {attempt})"}
            return ItemResult(None, error, Decimal("0"))
        cost = item.get("cost") if "cost" in declared else None
        if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
            return ItemResult(self.render(item), None, Decimal(str(cost)))
        return ItemResult(self.render(item), None, self.price if price is None else price)


def digest(item: JsonObject) -> str:
    """A short stable hash of an input, so equal inputs give equal outputs."""
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:24]


def _image(item: JsonObject) -> JsonObject:
    width, height = item.get("width") or 1024, item.get("height") or 1024
    return {
        "image_url": image_placeholder(digest(item), width, height),
        "width": width,
        "height": height,
    }


def _text(item: JsonObject) -> JsonObject:
    text = item["text"]
    return {"text": text.upper(), "length": len(text), "digest": digest(item)}


def _video(item: JsonObject) -> JsonObject:
    return {
        "video_url": video_placeholder(digest(item)),
        "duration_seconds": item.get("duration_seconds") or 5,
        "fps": item.get("fps") or 24,
    }


CATALOG: dict[str, CatalogModel] = {
    model.ref: model
    for model in (
        CatalogModel(
            "acme",
            "image-gen",
            (
                ModelInput("prompt", "string", required=True),
                ModelInput("width", "integer"),
                ModelInput("height", "integer"),
                ModelInput("seed", "integer"),
                ModelInput("fail_attempts", "integer"),
            ),
            Decimal("0.0040"),
            _image,
        ),
        CatalogModel(
            "acme",
            "test-model",
            (
                ModelInput("text", "string", required=True),
                ModelInput("fail", "boolean"),
                ModelInput("fail_attempts", "integer"),
                ModelInput("run_seconds", "number"),
                ModelInput("cost", "number"),
            ),
            Decimal("0.0010"),
            _text,
        ),
        CatalogModel(
            "acme",
            "video/gen-v2",
            (
                ModelInput("prompt", "string", required=True),
                ModelInput("duration_seconds", "integer"),
                ModelInput("fps", "integer"),
            ),
            Decimal("0.0500"),
            _video,
        ),
        CatalogModel(
            "acme", "single-only", (ModelInput("prompt", "string", required=True),), Decimal("0.0100"), _image, False
        ),
    )
}
