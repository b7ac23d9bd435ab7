"""Putting a batch's items back in input order, one plain JSON entry per input."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.batching.failures import FAILED_ITEMS_KEPT, failed_item
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.models import BatchItemRow

ITEM_FIELDS = "id,batch_id,sequence_index,run_id,status_code,client_ref,output,error,cost"
"""Projection for the items endpoint: what a result entry needs, without echoing the inputs back."""

ITEM_OUTCOMES = ("succeeded", "failed", "cancelled")
"""The states an item ends in on Runflow; an item in any other state counts as ``other``."""
SKIPPED = "skipped"
"""The state of an input the task never sent to Runflow (the spend guard's): neither paid nor failed."""
COUNTS = ("total", *ITEM_OUTCOMES, SKIPPED, "other")
"""The counts of a run, as the ``summary``, the asset events and the lineage facet name them."""


class RunflowMissingItemsError(RunflowError):
    """Runflow returned fewer, more or conflicting items than the batch holds: nothing is silently lost."""


def item_result(index: int, batch_id: str, row: BatchItemRow) -> dict[str, Any]:
    """The entry handed downstream for input ``index``: JSON-only, so XCom and ``.expand()`` take it."""
    return {
        "index": index,
        "client_ref": row.client_ref,
        "status": row.status_code,
        "output": row.output,
        "error": row.error,
        "batch_id": batch_id,
        "run_id": row.run_id,
        "cost": None if row.cost is None else str(row.cost),
    }


def ordered_results(batch_id: str, rows: Iterable[BatchItemRow], start: int, expected: int) -> list[dict[str, Any]]:
    """A batch's entries in input order, numbered from ``start``; every one of ``expected`` items exactly once.

    Items are ordered by ``sequence_index`` rank, which copes with 0- and 1-based numbering.
    """
    by_sequence: dict[int, BatchItemRow] = {}
    for row in rows:
        if row.sequence_index is None:
            raise RunflowMissingItemsError(f"Batch {batch_id}: item {row.id} has no sequence_index")
        seen = by_sequence.setdefault(row.sequence_index, row)
        if seen.id != row.id:
            raise RunflowMissingItemsError(
                f"Batch {batch_id}: items {seen.id} and {row.id} share sequence_index {row.sequence_index}"
            )
    if len(by_sequence) != expected:
        raise RunflowMissingItemsError(f"Batch {batch_id} returned {len(by_sequence)} items, expected {expected}")
    return [item_result(start + rank, batch_id, by_sequence[seq]) for rank, seq in enumerate(sorted(by_sequence))]


@dataclass
class Tally:
    """Running counts and cost over result entries, and the first failed items (see ``failures``)."""

    statuses: Counter[str] = field(default_factory=Counter)
    cost: Decimal = Decimal(0)
    failed: list[dict[str, Any]] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    """With re-runs of failed items, each round's counts and cost (``rounds.Round.counts``)."""

    @classmethod
    def of_batches(cls, states: Iterable[BatchState]) -> Tally:
        """Counts and cost from finished batches' own fields, for a wait that fetches no items (the sensor)."""
        tally = cls()
        for state in states:
            ended = (state.items_succeeded, state.items_failed, state.items_cancelled)
            tally.statuses.update({status: count or 0 for status, count in zip(ITEM_OUTCOMES, ended, strict=True)})
            tally.statuses["other"] += max(0, (state.items_total or 0) - state.done)
            tally.cost += Decimal(state.cost or 0)
        return tally

    def add(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            self.statuses[entry["status"] or "unknown"] += 1
            if entry["cost"] is not None:
                self.cost += Decimal(entry["cost"])
            if entry["status"] not in ("succeeded", SKIPPED):
                self.note_failed(entry)

    def note_failed(self, entry: dict[str, Any]) -> None:
        """Keep a failed entry's identity and error, up to ``FAILED_ITEMS_KEPT``."""
        if len(self.failed) < FAILED_ITEMS_KEPT:
            self.failed.append(failed_item(entry))

    def counts(self) -> dict[str, int]:
        """Items by outcome, under the names of :data:`COUNTS`."""
        ended = {status: self.statuses.get(status, 0) for status in (*ITEM_OUTCOMES, SKIPPED)}
        return {"total": self.total, **ended, "other": self.total - sum(ended.values())}

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def not_succeeded(self) -> int:
        """Items that ran and did not succeed: what the failure policy counts (skipped inputs never ran)."""
        return self.total - self.statuses.get("succeeded", 0) - self.statuses.get(SKIPPED, 0)
