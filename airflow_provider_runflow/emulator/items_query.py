"""The query language of ``GET /v1/batches/{batch_id}/items``: filter, sort, projection and keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_runflow.client.status import normalize_status
from airflow_provider_runflow.emulator.errors import validation_error
from airflow_provider_runflow.emulator.state import Item

MAX_LIMIT, DEFAULT_LIMIT = 500, 50
ROW_FIELDS = frozenset(
    [
        "id",
        "batch_id",
        "sequence_index",
        "run_id",
        "created_at",
        "client_ref",
        "status_code",
        "input",
        "cost",
        "output",
        "error",
        "started_at",
        "completed_at",
        "run",
    ]
)
FILTERABLE = ("status_code", "client_ref", "sequence_index", "id", "run_id")
_CLAUSE = re.compile(r"^(?P<field>\w+)(?:\.(?P<op>[A-Za-z]+))?:(?P<value>'[^']*'|\"[^\"]*\"|\S+)$")

Key = tuple[Any, int]
_SORT_KEYS: dict[str, Callable[[Item, float], Any]] = {
    "sequence_index": lambda item, now: item.sequence_index,
    "created_at": lambda item, now: 0.0,
    "started_at": lambda item, now: item.started_at(now) or -1.0,
    "completed_at": lambda item, now: item.completed_at(now) or -1.0,
    "status_code": lambda item, now: item.status(now),
    "client_ref": lambda item, now: item.client_ref or "",
}
_TEXT_SORT_KEYS = frozenset({"status_code", "client_ref"})


@dataclass(frozen=True)
class ItemsListing:
    """A parsed items query."""

    filters: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    sort_field: str = "sequence_index"
    descending: bool = False
    fields: frozenset[str] | None = None
    embed_run: bool = False
    cursor: Key | None = None
    from_prev: bool = False


def parse_listing(query: Mapping[str, str]) -> ItemsListing:
    """Parse the query string, answering 422 for anything Runflow would reject."""
    sort_field, _, direction = (query.get("sort_by") or "sequence_index:asc").partition(":")
    if sort_field not in _SORT_KEYS or direction.lower() not in ("", "asc", "desc"):
        raise validation_error(f"sort_by must be <field>:asc|desc with field one of {', '.join(_SORT_KEYS)}")
    embeds = {e.strip() for e in (query.get("embed") or "").split(",") if e.strip()}
    if embeds - {"run"}:
        raise validation_error(
            "embed accepts only: run", [{"field": "embed", "message": f"unknown {embeds - {'run'}}"}]
        )
    return ItemsListing(
        filters=_parse_filter(query.get("q") or ""),
        limit=_parse_limit(query.get("limit")),
        sort_field=sort_field,
        descending=direction.lower() == "desc",
        fields=_parse_fields(query.get("fields")),
        embed_run="run" in embeds,
        cursor=decode_cursor(query["pq"], sort_field) if query.get("pq") else None,
        from_prev=(query.get("from_prev") or "false").lower() in ("true", "1"),
    )


def _parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.strip().lstrip("-").isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise validation_error(f"limit must be an integer from 1 to {MAX_LIMIT}", [{"field": "limit", "message": text}])
    return int(text)


def _parse_fields(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    fields = frozenset(f.strip() for f in text.split(",") if f.strip())
    if unknown := fields - ROW_FIELDS:
        raise validation_error(f"unknown fields: {', '.join(sorted(unknown))}", [{"field": "fields", "message": text}])
    return fields


def _parse_filter(text: str) -> tuple[tuple[str, str], ...]:
    """``status_code.EQ:'failed'`` or ``status_code:failed`` clauses joined by AND; exact matches only."""
    clauses = [c.strip() for c in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE) if c.strip()]
    filters = []
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if not match or (match["op"] or "EQ").upper() != "EQ" or match["field"] not in FILTERABLE:
            raise validation_error(
                f"unsupported filter {clause!r}: use <field>.EQ:'value' with field one of {', '.join(FILTERABLE)}",
                [{"field": "q", "message": clause}],
            )
        value = match["value"].strip("'\"")
        filters.append((match["field"], normalize_status(value) or "" if match["field"] == "status_code" else value))
    return tuple(filters)


def encode_cursor(sort_field: str, key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_field, *key]).encode()).decode().rstrip("=")


def decode_cursor(token: str, sort_field: str) -> Key:
    """The key a ``pq`` token holds; 422 unless this API issued it for the same ``sort_by`` field."""
    try:
        field, value, index = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error):
        field = value = index = None
    kind = str if sort_field in _TEXT_SORT_KEYS else (int, float)
    if field != sort_field or not isinstance(value, kind) or isinstance(value, bool) or type(index) is not int:
        raise validation_error("pq is not a cursor of this query", [{"field": "pq", "message": token}])
    return value, index


def _matches(item: Item, filters: tuple[tuple[str, str], ...], now: float) -> bool:
    for field, wanted in filters:
        value = item.status(now) if field == "status_code" else getattr(item, field)
        if str(value if value is not None else "") != wanted:
            return False
    return True


@dataclass(frozen=True)
class Page:
    """The items of one page and the cursors around it."""

    items: list[Item]
    next: str | None
    previous: str | None


def paginate(items: list[Item], listing: ItemsListing, now: float) -> Page:
    """Select one page by keyset: rows strictly after (or, ``from_prev``, before) the cursor's key."""
    sort_value = _SORT_KEYS[listing.sort_field]
    keyed = sorted(
        ((sort_value(item, now), item.sequence_index), item) for item in items if _matches(item, listing.filters, now)
    )
    if listing.descending:
        keyed.reverse()

    def beyond(key: Key, cursor: Key) -> bool:
        return key < cursor if listing.descending else key > cursor

    cursor = listing.cursor
    if listing.from_prev:
        candidates = [kv for kv in keyed if cursor is None or beyond(cursor, kv[0])]
        chosen = candidates[-listing.limit :]
    else:
        candidates = [kv for kv in keyed if cursor is None or beyond(kv[0], cursor)]
        chosen = candidates[: listing.limit]
    if not chosen:
        return Page([], None, None)
    first, last = chosen[0][0], chosen[-1][0]
    has_before = keyed[0][0] != first
    has_after = keyed[-1][0] != last
    return Page(
        [item for _, item in chosen],
        encode_cursor(listing.sort_field, last) if has_after else None,
        encode_cursor(listing.sort_field, first) if has_before else None,
    )
