"""Fixtures of the reliability suite, and the JSON summary its figures in docs/reliability.md come from.

Set ``RUNFLOW_RELIABILITY_SUMMARY=path.json`` to have the run write, per test case: its area
(the module name without ``test_``, e.g. ``fault_matrix``), outcome, and the figures it recorded
(items lost, duplicate batches or entries, what was checked). ``python tests/reliability/summary.py path.json`` prints
the tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import quick_backoff

_CASES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``figures(lost=0, duplicates=0, checked="...")``: what this case measured, for the summary."""
    case = _CASES.setdefault(request.node.nodeid, {})

    def record(**values: Any) -> None:
        case.update(values)

    return record


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections get short retry backoffs (see ``quick_backoff``)."""
    monkeypatch.setattr("airflow_provider_runflow.hooks.runflow.RetryPolicy", quick_backoff)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" or (report.when == "setup" and not report.passed):
        case = _CASES.setdefault(item.nodeid, {})
        case["area"] = item.module.__name__.removeprefix("test_") if item.module else "?"
        case["outcome"] = report.outcome
        case["seconds"] = round(report.duration, 2)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("RUNFLOW_RELIABILITY_SUMMARY")
    if target and _CASES:
        cases = [{"case": nodeid, **values} for nodeid, values in _CASES.items() if "area" in values]
        Path(target).write_text(json.dumps(cases, indent=1, default=str))
