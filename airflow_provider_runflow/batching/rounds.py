"""Re-running failed items in rounds: which inputs each round ran, and what every round cost.

A round is small enough to travel in a trigger's kwargs and its event: batch ids, item
counts, the input index of each re-run item (none for round 0, which runs every input in
order) and, once over, its batches' final states.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client.status import BATCH_FAILURES

RERUN_STATUSES = frozenset(status.value for status in BATCH_FAILURES)
"""Item states that are re-run: failed, errored, cancelled (never items Runflow refused at creation)."""


@dataclass
class Round:
    """One round of batches: round 0 runs every input; round k the items round k-1 left failed."""

    number: int
    batch_ids: list[str]
    expected_items: list[int]
    indices: list[int] | None = None
    batches: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Round:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def input_index(self, position: int) -> int:
        """The input index of the item at ``position`` across this round's batches."""
        return position if self.indices is None else self.indices[position]

    @property
    def states(self) -> list[BatchState]:
        return [BatchState.from_json(batch) for batch in self.batches]

    def counts(self) -> dict[str, Any]:
        """This round's line of the ``summary``: items, batches, outcomes and cost, from its batches."""
        states = self.states
        return {
            "round": self.number,
            "items": sum(self.expected_items),
            "batches": len(self.batch_ids),
            "succeeded": sum(s.items_succeeded or 0 for s in states),
            "failed": sum(s.items_failed or 0 for s in states),
            "cancelled": sum(s.items_cancelled or 0 for s in states),
            "cost": str(sum((Decimal(s.cost or 0) for s in states), Decimal(0))),
        }


def attempts(rounds: list[Round]) -> dict[int, int]:
    """Re-runs per input index (an input absent ran once)."""
    counted: dict[int, int] = {}
    for later in rounds[1:]:
        for index in later.indices or []:
            counted[index] = counted.get(index, 0) + 1
    return counted
