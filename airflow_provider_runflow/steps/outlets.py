"""The ``extra`` of the asset events a successful RunflowBatchOperator emits, and where it puts it.

Airflow records an event for every outlet of a task that succeeded, and none for a failed
task; the operator only fills in each event's ``extra`` (docs/events.md has the schema).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import Asset, AssetAlias

from airflow_provider_runflow.batching.results import COUNTS

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


@dataclass(frozen=True)
class ResultsPlace:
    """Where a run's results are: ``output_path`` (JSON Lines) or XCom; ``media_path`` and, under it, the
    task instance's own ``media_folder`` for stored media."""

    output_path: str | None
    media_path: str | None
    media_folder: str | None = None


def asset_extra(summary: dict[str, Any], model: str, place: ResultsPlace) -> dict[str, Any]:
    """What a consumer needs of a finished run, from its ``summary`` XCom: batches, counts, cost, results."""
    return {
        "source": "runflow",
        "model": model,
        "batch_ids": list(summary.get("batch_ids") or []),
        "counts": {name: int(summary.get(name) or 0) for name in COUNTS},
        "cost": summary.get("cost"),
        "max_cost": summary.get("max_cost"),
        **({"review": summary["review"]} if "review" in summary else {}),
        "results": "output_path" if place.output_path else "xcom",
        "output_path": place.output_path,
        "media_path": place.media_path,
        "media_folder": place.media_folder,
    }


def fill_outlet_events(
    outlets: list[Any], context: Context, extra: dict[str, Any], model_asset_of: Callable[[], Asset]
) -> None:
    """Put ``extra`` on each outlet's event; add the model's ``runflow://`` asset to each ``AssetAlias``.

    ``model_asset_of`` makes the model's asset only when an alias needs it (it reads the connection).
    """
    events = context["outlet_events"]
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            events[outlet].add(model_asset_of(), extra=extra)
        elif isinstance(outlet, Asset):
            events[outlet].extra = extra
