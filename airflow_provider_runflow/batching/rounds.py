"""A task's batches across rounds: which inputs each round ran, and what every round cost.

The whole state is small JSON (batch ids, item counts, the input index of each re-run item and,
once a round is over, its batches' final states), so it travels in the trigger's ``carry`` and
comes back in its event: ``dag.test()`` resumes a task with the event alone.
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
    """One round of batches: round 0 runs every input; a later round the items an earlier one left failed."""

    number: int
    batch_ids: list[str]
    expected_items: list[int]
    indices: list[int] | None = None
    """The input index of each item, in order across the batches; None: every input in order (round 0)."""
    batches: list[dict[str, Any]] = field(default_factory=list)
    """The final states (``BatchState`` as JSON) of the batches that are over, in ``batch_ids`` order: a round
    sent in waves (the spend guard's) is over once every wave is."""
    review: int = 0
    """The review round whose rejected items it regenerates (and retry rounds of those); 0: before any review."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Round:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def input_index(self, position: int) -> int:
        """The input index of the item at ``position`` across this round's batches."""
        return position if self.indices is None else self.indices[position]

    @property
    def states(self) -> list[BatchState]:
        return [BatchState.from_json(batch) for batch in self.batches]

    @property
    def pending(self) -> tuple[list[str], list[int]]:
        """The batches still to wait for (the last wave's), and their item counts."""
        over = len(self.batches)
        return self.batch_ids[over:], self.expected_items[over:]

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


@dataclass
class RunState:
    """Every round of a task so far, and when its first batches were submitted (the deadline counts from it)."""

    submitted_at: float
    rounds: list[Round]
    skipped_from: int | None = None
    """The first input the spend guard never submitted (it skipped every input from there on); None: none."""
    reviews: list[dict[str, Any]] = field(default_factory=list)
    """Every review decision so far (``batching.review.Decision`` as JSON), in order."""
    max_cost: str | None = None
    """A budget a person raised when asked (``on_budget="ask"``); None: the task's own ``max_cost``."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        rounds = [Round.from_json(r) for r in data["rounds"]]
        reviews = list(data.get("reviews") or [])
        return cls(float(data["submitted_at"]), rounds, data.get("skipped_from"), reviews, data.get("max_cost"))

    @classmethod
    def of_event(cls, event: dict[str, Any], now: float) -> RunState:
        """The state a wait's event carries back; a task deferred by version 0.1.0 carries none, and its
        event's batches are its one round (submitted ``now``, as far as the summary can tell)."""
        carry = event.get("carry")
        if isinstance(carry, dict) and "rounds" in carry:
            return cls.from_json(carry)
        batches = event.get("batches") or []
        counts = [int(b.get("expected_items") or b.get("items_total") or 0) for b in batches]
        return cls(now, [Round(0, [str(b["batch_id"]) for b in batches], counts)])

    @property
    def last(self) -> Round:
        return self.rounds[-1]

    @property
    def states(self) -> list[BatchState]:
        """The final state of every batch that is over, round by round."""
        return [state for r in self.rounds for state in r.states]

    @property
    def batch_ids(self) -> list[str]:
        """Every batch of every round, in the order they were created."""
        return [batch_id for r in self.rounds for batch_id in r.batch_ids]

    def attempts(self) -> dict[int, int]:
        """Runs per input index that ran more than once."""
        counted: dict[int, int] = {}
        for later in self.rounds[1:]:
            for index in later.indices or []:
                counted[index] = counted.get(index, 1) + 1
        return counted
