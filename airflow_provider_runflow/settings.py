"""The provider's ``[runflow]`` settings, read in one place (defaults and docs: ``get_provider_info``).

Read when a task needs them, never at import: a DAG file importing the provider must not read config.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import conf

SECTION = "runflow"
WORKER_WAIT_SECONDS = 10.0
MIN_DEFERRAL_SECONDS = 10.0


def _seconds(option: str, default: float) -> float:
    value: float = conf.getfloat(SECTION, option, fallback=default)
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"[{SECTION}] {option} must be a number of seconds, 0 or more; got {value!r}")
    return value


def worker_wait_seconds() -> float:
    """How long a deferrable task waits for its batches on the worker before it defers.

    Batches that end sooner finish there, with no deferral: no triggerer round trip, no defer race.
    """
    return _seconds("worker_wait_seconds", WORKER_WAIT_SECONDS)


def min_deferral_seconds() -> float:
    """How long after deferring, at least, the triggerer sends a task's event (Airflow's defer race)."""
    return _seconds("min_deferral_seconds", MIN_DEFERRAL_SECONDS)
