"""The task state store (Airflow 3.3+), where a task keeps what its retries must find: optional everywhere.

Without a store (Airflow 3.2, or none configured) nothing is kept, and a retry falls back on what
needs no store: Idempotency-Keys re-attach batches, a review question is asked again.
"""

from __future__ import annotations

from typing import Any


def kept(store: Any, key: str) -> Any:
    """What an earlier try kept under ``key`` in the task state store (Airflow 3.3+); None when nothing was."""
    if store is None:
        return None
    try:
        return store.get(key)
    except Exception:  # no record (the store raises for a missing key): nothing was kept
        return None


def keep(store: Any, key: str, value: Any, what: str, log: Any) -> None:
    """Keep ``value`` across task tries, as far as a store is there to keep it."""
    if store is None:
        return
    try:
        store.set(key, value)
    except Exception as err:
        log.warning("Could not record the %s in the task state store: %s", what, err)
