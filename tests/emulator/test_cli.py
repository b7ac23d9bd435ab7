"""The ``runflow-emulator`` command: what it prints, and a clean exit on SIGTERM and SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from unittest.mock import ANY

import httpx
import pytest

from airflow_provider_runflow.emulator.cli import parser, settings_from


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_urls_that_answer_and_stops_on_signal(stop: signal.Signals) -> None:
    command = [
        sys.executable,
        "-m",
        "airflow_provider_runflow.emulator",
        "--port",
        "0",
        "--api-key",
        "rf_live_cli=cli-org",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        url = lines[0].removeprefix("Runflow emulator running at ").strip()
        connection = next(line for line in lines if "AIRFLOW_CONN_RUNFLOW_DEFAULT=" in line)
        conn = json.loads(connection.split("=", 1)[1].strip().strip("'"))
        assert conn == {"conn_type": "runflow", "host": url, "password": "rf_live_cli"}
        assert httpx.get(f"{url}/v1/health").json() == {"status": "ok"}
        answer = httpx.get(
            f"{url}/v1/batches/3c90c3cc-0d44-4b50-8888-8dd25736052a", headers={"Authorization": "Bearer rf_live_cli"}
        )
        assert answer.status_code == 404
        control = lines[5].removeprefix("Control API: ").split(" ", 1)[0]
        assert control == f"{url}/_emulator/"
        index = httpx.get(control).raise_for_status().json()
        assert {"route": "GET /_emulator/counters", "does": ANY} in index["routes"]
    finally:
        process.send_signal(stop)
        code = process.wait(timeout=10)
    assert code == 0


def test_cli_refuses_invalid_settings() -> None:
    command = [sys.executable, "-m", "airflow_provider_runflow.emulator", "--port", "0", "--run-seconds", "2,1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "run_seconds" in result.stderr


def test_options_override_the_config_json() -> None:
    base = '{"seed": 3, "latency": 0.5, "faults": [{"kind": "unavailable", "probability": 0.1}]}'
    args = parser().parse_args(
        ["--config", base, "--latency", "0", "--run-seconds", "0.1,0.2", "--api-key", "rf_live_a=x,y"]
    )
    settings = settings_from(args)
    assert (settings.seed, settings.latency, settings.run_seconds) == (3, 0.0, (0.1, 0.2))
    assert len(settings.api_keys["rf_live_a"]) == 2
    assert settings.faults[0].probability == 0.1
