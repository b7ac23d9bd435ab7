"""The spend guard: how many more inputs a task may send to Runflow within ``max_cost``, from what it spent so far.

A task with a budget sends its inputs in waves of whole batches. The first wave is one batch;
once a wave is over, the cost per item so far (every finished item's cost, from the batches'
own ``cost``) projects what the next inputs will cost, and the next wave takes only the batches
that fit ``spent + projected <= max_cost``, and never more items than have already run, so the
projection always rests on at least as many items as it projects; unless everything left would
fit at twice the cost per item so far, when it all goes at once. What does not fit is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from airflow_provider_runflow.batching.results import SKIPPED
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client.errors import RunflowError

SAFETY = 2
"""Everything left goes in one wave when it would still fit at this many times the cost per item so far."""

BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
"""The ``error.code`` of an input the spend guard skipped."""


class RunflowBudgetError(RunflowError):
    """The spend guard skipped inputs to stay within ``max_cost``; the message gives the figures."""


def parse_max_cost(value: Any) -> Decimal | None:
    """``max_cost`` as a Decimal (a decimal string, int or Decimal; never a float, which cannot say 0.1)."""
    if value is None:
        return None
    if isinstance(value, float | bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"max_cost must be a decimal string (e.g. '25.00') or a Decimal, got {value!r}")
    try:
        cost = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"max_cost must be a decimal number, got {value!r}") from None
    if not cost.is_finite() or cost < 0:
        raise ValueError(f"max_cost must be a finite amount of 0 or more, got {value!r}")
    return cost


def money(value: Decimal) -> str:
    """An amount as Runflow writes one: four decimals."""
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Spend:
    """What finished batches cost: in all, and over how many items (every item that reached an end)."""

    cost: Decimal
    items: int

    @classmethod
    def of(cls, states: Iterable[BatchState]) -> Spend:
        cost, items = Decimal(0), 0
        for state in states:
            if state.cost is None:
                raise ValueError(f"Runflow reported no cost for batch {state.batch_id}: the spend guard cannot project")
            cost += Decimal(state.cost)
            items += state.done
        return cls(cost, items)

    @property
    def per_item(self) -> Decimal:
        return self.cost / self.items if self.items else Decimal(0)


@dataclass(frozen=True)
class Wave:
    """The guard's decision for the next wave: how many batches it sends, and the projection behind it."""

    batches: int
    items: int
    spent: Decimal
    per_item: Decimal
    projected_total: Decimal
    """``spent`` plus what every input not run yet would cost at ``per_item``."""


def next_wave(max_cost: Decimal, spent: Spend, waiting: list[int], chunk_size: int) -> Wave:
    """How many of the ``waiting`` batch sizes (in order) the next wave may send.

    Whole batches only: a batch's Idempotency-Key covers its items, so a later, larger budget
    re-attaches to every batch already sent and pays only for new ones.
    """
    per_item = spent.per_item
    projected_total = spent.cost + per_item * sum(waiting)
    room = max_cost - spent.cost
    items, batches = 0, 0
    limit = max(spent.items, chunk_size) if per_item * sum(waiting) * SAFETY > room else sum(waiting)
    for size in waiting:
        if items + size > limit or per_item * (items + size) > room:
            break
        items += size
        batches += 1
    return Wave(batches, items, spent.cost, per_item, projected_total)


def budget_message(max_cost: Decimal, spent: Spend, inputs: int, skipped_from: int) -> str:
    """Why inputs were skipped, with the figures: the budget, the spend so far, the projected total, the skipped."""
    skipped = inputs - skipped_from
    projected = spent.cost + spent.per_item * skipped
    span = f"input[{skipped_from}]" + (f" to input[{inputs - 1}]" if skipped > 1 else "")
    return (
        f"Budget max_cost={max_cost} reached: spent {money(spent.cost)} on {spent.items} items "
        f"({money(spent.per_item)} per item), and all {inputs} inputs would cost about {money(projected)}; "
        f"{skipped} inputs were not submitted ({span})."
    )


def skipped_entries(inputs: list[dict[str, Any]], skipped_from: int, message: str) -> list[dict[str, Any]]:
    """An entry for each input the guard never submitted, in input order: ``status`` skipped, the guard's error."""
    error = {"code": BUDGET_EXCEEDED, "message": message}
    return [
        {
            "index": index,
            "client_ref": inputs[index].get("client_ref"),
            "status": SKIPPED,
            "output": None,
            "error": error,
            "batch_id": None,
            "run_id": None,
            "cost": None,
        }
        for index in range(skipped_from, len(inputs))
    ]
