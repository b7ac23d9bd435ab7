"""JSON from outside (callback bodies, results files, XComs) parsed or walked without recursing without bound.

``json.loads`` of a document nested some thousand levels deep raises ``RecursionError``, and one
nested a few hundred levels parses but breaks whoever serialises it again (the DB layer, pydantic,
the page's template). Both are refused here, as a ``ValueError`` that names no content.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
"""Deeper than any Runflow payload or result entry (a model's output included); shallow for any serialiser."""


class TooDeep(ValueError):
    """A document nested deeper than :data:`MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects and lists more than ``limit`` levels deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth >= limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def loads(text: str | bytes, *, finite: bool = False) -> Any:
    """``json.loads(text)``; ``TooDeep`` when nested deeper than :data:`MAX_DEPTH`, ``ValueError`` when not JSON.

    With ``finite``, ``NaN``, ``Infinity`` and numbers that overflow a float are refused too: a
    database's JSON type (PostgreSQL's) rejects them.
    """
    strict: dict[str, Any] = {"parse_constant": _refuse_constant, "parse_float": _finite} if finite else {}
    try:
        value = json.loads(text, **strict)
    except RecursionError:
        raise TooDeep() from None
    if deeper_than(value):
        raise TooDeep()
    return value
