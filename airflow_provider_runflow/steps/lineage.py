"""OpenLineage facets of a RunflowBatchOperator run, built from what the task recorded in XCom.

Imported only by the operator's ``get_openlineage_facets_on_*`` methods, which the OpenLineage
provider calls: without that provider nothing here is ever imported. Everything comes from the
task instance's XComs, never from attributes set during ``execute``, which a deferred task loses
(apache/airflow#40450).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import attr
from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
from airflow.providers.openlineage.extractors import OperatorLineage

from airflow_provider_runflow.batching.results import COUNTS

FACET_NAME = "runflow"
SCHEMA_URL = (
    "https://raw.githubusercontent.com/runflow-io/airflow-provider-runflow/main/docs/openlineage/RunflowRunFacet.json"
)


@attr.define
class RunflowRunFacet(RunFacet):
    """The batches a run created, the model they ran, their items by outcome and their cost."""

    model: str
    batch_ids: list[str]
    counts: dict[str, int]
    cost: str | None = None
    max_cost: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def storage_dataset(uri: str) -> Dataset:
    """The OpenLineage dataset of an object-storage URI: ``s3://bucket`` + key, or ``file`` + path."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file", "local"):
        return Dataset(namespace=f"file://{parts.netloc}" if parts.netloc else "file", name=parts.path)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/")


def operator_lineage(model: str, xcoms: dict[str, Any], paths: list[str | None]) -> OperatorLineage[Dataset, RunFacet]:
    """The run facet from the ``summary`` (or, before one exists, ``batch_ids``) XCom; a dataset per path."""
    found = xcoms.get("summary")
    summary: dict[str, Any] = found if isinstance(found, dict) else {}
    batch_ids = summary.get("batch_ids") or xcoms.get("batch_ids") or []
    facet = RunflowRunFacet(
        model=model,
        batch_ids=[str(batch_id) for batch_id in batch_ids],
        counts={name: int(summary[name]) for name in COUNTS if isinstance(summary.get(name), int)},
        cost=None if summary.get("cost") is None else str(summary["cost"]),
        max_cost=None if summary.get("max_cost") is None else str(summary["max_cost"]),
    )
    return OperatorLineage(outputs=[storage_dataset(path) for path in paths if path], run_facets={FACET_NAME: facet})
