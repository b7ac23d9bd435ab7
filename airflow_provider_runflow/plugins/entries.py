"""A task's result entries, from its XCom list or its JSON Lines file: status buckets, filters and one page.

Entries are read lazily so that a page of a 10,000-item JSON Lines file parses only the lines it
needs: lines before the page are skipped unparsed when every entry matches the filter.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_runflow.client.status import normalize_status
from airflow_provider_runflow.plugins import bounded_json

BUCKETS = ("succeeded", "failed", "cancelled", "other")
"""The outcome classes of the ``summary`` XCom, in the order the page lists them."""
FILTERS = ("all", *BUCKETS, "not_succeeded")
MAX_PER_PAGE = 200
MAX_PAGE = 2**31 - 1


class EntriesError(ValueError):
    """What the task recorded cannot be read as result entries; the message says where, never what."""


def bucket(status: Any) -> str:
    """The summary class of an item status: ``succeeded``, ``failed``, ``cancelled`` or ``other``."""
    folded = normalize_status(status) if isinstance(status, str) else None
    return folded if folded is not None and folded in BUCKETS[:3] else "other"


def matches(entry: dict[str, Any], status_filter: str) -> bool:
    if status_filter == "all":
        return True
    found = bucket(entry.get("status"))
    return found != "succeeded" if status_filter == "not_succeeded" else found == status_filter


def counts_by_filter(buckets: dict[str, int]) -> dict[str, int]:
    """Entries per filter, from entries per bucket (e.g. the ``summary`` XCom's counts)."""
    total = sum(buckets.get(name, 0) for name in BUCKETS)
    return {
        "all": total,
        **{name: buckets.get(name, 0) for name in BUCKETS},
        "not_succeeded": total - buckets.get("succeeded", 0),
    }


def count_buckets(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(bucket(entry.get("status")) for entry in entries))


@dataclass(frozen=True)
class PageRequest:
    """Which entries to show: a status filter and a 1-based page of ``per_page`` entries."""

    status: str = "all"
    page: int = 1
    per_page: int = 48

    def __post_init__(self) -> None:
        if self.status not in FILTERS:
            raise ValueError(f"status must be one of {', '.join(FILTERS)}")
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"page must be 1..{MAX_PAGE} and per_page 1..{MAX_PER_PAGE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_of(entries: Iterable[dict[str, Any]], request: PageRequest) -> list[dict[str, Any]]:
    """The entries of the requested page among those matching the filter; reads no further than that page."""
    wanted = (entry for entry in entries if matches(entry, request.status))
    return list(itertools.islice(wanted, request.offset, request.offset + request.per_page))


def jsonl_entries(lines: Iterable[str], start: int = 0) -> Iterator[dict[str, Any]]:
    """Parse JSON Lines into entries, numbering lines from ``start`` (1-based in messages)."""
    for number, line in enumerate(lines, start=start + 1):
        if not line.strip():
            continue
        try:
            entry = bounded_json.loads(line)
        except bounded_json.TooDeep as err:
            raise EntriesError(f"line {number} is {err}") from None
        except ValueError:
            raise EntriesError(f"line {number} is not JSON") from None
        if not isinstance(entry, dict):
            raise EntriesError(f"line {number} is not a JSON object")
        yield entry


def jsonl_page(lines: Iterable[str], request: PageRequest) -> list[dict[str, Any]]:
    """One page of a JSON Lines file: without a filter, the lines before the page are skipped unparsed."""
    if request.status != "all":
        return page_of(jsonl_entries(lines), request)
    window = itertools.islice(lines, request.offset, request.offset + request.per_page)
    return list(jsonl_entries(window, start=request.offset))


def jsonl_entry(lines: Iterable[str], index: int) -> dict[str, Any] | None:
    """The entry on line ``index`` (0-based; entries are in input order, one per line), if there is one."""
    return next(jsonl_entries(itertools.islice(lines, index, index + 1), start=index), None)
