"""One running stack per session, and the first full-stack DAG run watched from trigger to success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airflow_stack import AirflowStack, running_stack
from fullstack_support import WatchedRun, watch_run


@pytest.fixture(scope="session")
def stack() -> Iterator[AirflowStack]:
    """api-server, scheduler, dag-processor, triggerer and the emulator, each its own process."""
    yield from running_stack()


@pytest.fixture(scope="session")
def first_run(stack: AirflowStack) -> WatchedRun:
    """The full-stack DAG run once, with its defaults (150 inputs of 20 s items)."""
    return watch_run(stack)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never Playwright's own browser download)."""
    from test_browser import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
