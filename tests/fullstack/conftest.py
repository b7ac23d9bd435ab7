"""One running stack per session, and the first full-stack DAG run watched from trigger to success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow_stack import AirflowStack, running_stack
from browser_support import CHROMIUM, LAUNCH_ARGS
from distributed_support import DISTRIBUTED_CONFIG, DistributedRun, run_under_faults
from fullstack_support import WatchedRun, watch_run
from ha_support import HA_ARGUMENTS, HA_CONFIG


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
    """Headless Chromium (``browser_support``), one for the session; each test opens its own pages."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def ha_stack() -> Iterator[AirflowStack]:
    """PostgreSQL, two schedulers (LocalExecutor) and two triggerers, plus dag-processor, api-server, emulator.

    ``RUNFLOW_KEEP_STACK=1`` keeps its temp dir (every log) after the session, to read after a failure.
    """
    keep = os.environ.get("RUNFLOW_KEEP_STACK") == "1"
    yield from running_stack(
        postgres=True, schedulers=2, triggerers=2, config=HA_CONFIG, arguments=HA_ARGUMENTS, keep_root=keep
    )


@pytest.fixture(scope="session")
def distributed_stack() -> Iterator[AirflowStack]:
    """PostgreSQL; CeleryExecutor on Redis with two workers; two triggerers; two api-servers with logins; S3 (moto).

    ``RUNFLOW_KEEP_STACK=1`` keeps its temp dir (every log) after the session, to read after a failure.
    """
    keep = os.environ.get("RUNFLOW_KEEP_STACK") == "1"
    yield from running_stack(
        root=Path(tempfile.mkdtemp(prefix="runflow-distributed-")),
        postgres=True,
        celery_workers=2,
        triggerers=2,
        api_servers=2,
        s3=True,
        logins=True,
        config=DISTRIBUTED_CONFIG,
        keep_root=keep,
    )


@pytest.fixture(scope="session")
def distributed_run(distributed_stack: AirflowStack) -> DistributedRun:
    """``runflow_distributed`` run once on the distributed stack, with Runflow and media faults injected."""
    return run_under_faults(distributed_stack)
