"""Helpers of the reliability suite: its DAGs, emulator connections, expected outputs and figures."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from airflow.sdk import DAG

from airflow_provider_runflow.client import ClientConfig, RetryPolicy, RunflowClient
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.catalog import CATALOG

CREATE = "POST /v1/models/{owner}/{slug}/batches"
GET_BATCH = "GET /v1/batches/{id}"
LIST_ITEMS = "GET /v1/batches/{batch_id}/items"


def quick_backoff(max_attempts: int = 5) -> RetryPolicy:
    """The retry policy a connection asks for, with short backoffs (timing is pinned by tests/client/test_retry*.py).

    Installed in place of the hook's ``RetryPolicy`` so that a fault matrix of ~20 runs fits in minutes;
    which errors are retried, how often, and ``Retry-After`` are untouched.
    """
    return RetryPolicy(max_attempts=max_attempts, initial_backoff=0.05, max_backoff=0.2, jitter=0.05)


def reliability_dags() -> ModuleType:
    """``tests/dags/runflow_reliability.py``, importable once the ``airflow_db`` fixture set up the dags folder."""
    return importlib.import_module("runflow_reliability")


def reliability_dag(dag_id: str) -> DAG:
    """A DAG of ``tests/dags/runflow_reliability.py`` by id."""
    dags: dict[str, DAG] = reliability_dags().DAGS
    return dags[dag_id]


def connection_json(emu: RunflowEmulator, api_key: str | None = None, **extra: Any) -> str:
    """``AIRFLOW_CONN_*`` JSON for the emulator, with connection extras such as ``timeout`` and ``max_retries``."""
    return json.dumps(
        {"conn_type": "runflow", "host": emu.url, "password": api_key or emu.api_key, "extra": json.dumps(extra)}
    )


@contextmanager
def client_of(emu: RunflowEmulator, **config: Any) -> Iterator[RunflowClient]:
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url, **config)) as client:
        yield client


def expected_entries(inputs: list[dict[str, Any]]) -> list[tuple[int, str | None, str, Any]]:
    """``(index, client_ref, status, output)`` per input, from the emulator model's deterministic outputs.

    Runflow strips ``client_ref`` before the model sees an item; so does this.
    """
    model = CATALOG["acme/test-model"]
    rows = []
    for index, item in enumerate(inputs):
        body = {k: v for k, v in item.items() if k != "client_ref"}
        result = model.run(body)
        rows.append((index, item.get("client_ref"), "failed" if result.error else "succeeded", result.output))
    return rows


def comparable(entries: list[dict[str, Any]]) -> list[tuple[int, str | None, str, Any]]:
    return [(e["index"], e["client_ref"], e["status"], e["output"]) for e in entries]


def lost_and_duplicated(entries: list[dict[str, Any]], expected_count: int) -> tuple[int, int]:
    """Inputs with no entry, and entries beyond one per input."""
    indexes = [e["index"] for e in entries]
    return expected_count - len(set(indexes) & set(range(expected_count))), len(indexes) - len(set(indexes))
