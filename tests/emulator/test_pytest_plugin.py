"""The emulator's pytest fixtures: what they give, and that they load only into the suites that opt in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_runflow.client import RunflowClient, build_batch_request, calls
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.emulator import RunflowEmulator

PLUGIN = "airflow_provider_runflow.emulator.pytest_plugin"


def test_runflow_connection_points_airflow_at_the_emulator(runflow_connection: RunflowEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_RUNFLOW_DEFAULT"])
    assert conn == {"conn_type": "runflow", "host": runflow_connection.url, "password": runflow_connection.api_key}
    with RunflowClient(ClientConfig(api_key=conn["password"], base_url=conn["host"])) as runflow:
        runflow.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "a"}])))
    assert runflow_connection.counters()["batches_created"] == 1


def test_runflow_emulator_state_is_reset_between_tests(runflow_emulator: RunflowEmulator) -> None:
    assert runflow_emulator.counters()["batches_created"] == 0


def test_plugin_and_package_import_without_the_server() -> None:
    code = (
        "import sys, airflow_provider_runflow.emulator.pytest_plugin, airflow_provider_runflow.emulator;"
        "print(sorted(m for m in ('uvicorn', 'fastapi', 'starlette') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


@pytest.mark.parametrize(("options", "offered"), [((), False), (("-p", PLUGIN), True)])
def test_fixtures_are_offered_only_to_runs_that_opt_in(tmp_path: Path, options: tuple[str, ...], offered: bool) -> None:
    command = [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", *options]
    listing = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout
    assert ("runflow_emulator" in listing) is offered
