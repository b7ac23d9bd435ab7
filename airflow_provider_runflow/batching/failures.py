"""Naming the items that did not succeed: which input, which ``client_ref``, and what Runflow said."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

FAILED_ITEMS_KEPT = 100
"""Failed items kept for the ``summary`` XCom: enough to act on, small enough for XCom."""

NAMED_IN_MESSAGE = 20
"""Failed items named in an exception message; the rest are counted."""


def failed_item(entry: dict[str, Any]) -> dict[str, Any]:
    """The part of a result entry that says which item failed and why (JSON-only, for XCom)."""
    return {
        "index": entry["index"],
        "client_ref": entry.get("client_ref"),
        "status": entry.get("status"),
        "error": entry.get("error"),
        "batch_id": entry.get("batch_id"),
    }


def error_text(error: Any) -> str | None:
    """``CODE: message`` of a Runflow error object; another value as it is (JSON for structures)."""
    if error is None or isinstance(error, str):
        return error
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return ": ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
    return json.dumps(error, sort_keys=True, default=str)


def error_label(item: dict[str, Any]) -> str:
    """:func:`error_text` of an item's error, or its status when Runflow gave no error."""
    return error_text(item.get("error")) or f"{item.get('status') or 'unknown status'} (no error given)"


def _name(item: dict[str, Any]) -> str:
    ref = item.get("client_ref")
    return f"input[{item['index']}]" + (f" (client_ref {ref!r})" if ref else "")


def describe_failures(items: Iterable[dict[str, Any]], total: int) -> str:
    """Lines naming the first failed items grouped by identical error ("7 \u00d7 CODE: message: input[3], ..."),
    then "and N more" for the ``total`` failed items not named."""
    named = list(items)[:NAMED_IN_MESSAGE]
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in named:
        groups.setdefault(error_label(item), []).append(item)
    lines = [f"{len(group)} \u00d7 {label}: {', '.join(_name(i) for i in group)}" for label, group in groups.items()]
    if total > len(named):
        lines.append(f"and {total - len(named)} more")
    return "\n".join(f"  {line}" for line in lines)
