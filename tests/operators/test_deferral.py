"""When a deferrable task defers: batches that end within ``[runflow] worker_wait_seconds`` finish on the worker.

dag.test() logs "running trigger in line" whenever a task defers, so its log tells the two paths apart.
"""

from __future__ import annotations

import json

import pytest
from airflow_support import scenario, xcom

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
DEFERRED = "running trigger in line"


def log_of(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    captured = capfd.readouterr()
    return captured.out + captured.err + caplog.text


@pytest.mark.parametrize("dag_id", ["rf_single", "rf_sensor_deferred"])
def test_with_the_default_worker_wait_a_short_batch_never_defers(
    dag_id: str,
    runflow_connection: RunflowEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS")
    with RunflowClient(ClientConfig(api_key=runflow_connection.api_key, base_url=runflow_connection.url)) as client:
        batch = client.send(calls.create_batch("acme/test-model", build_batch_request([{"text": "done soon"}])))
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_BATCH_IDS", json.dumps([batch.id]))
    run = scenario(dag_id).test()
    assert run.state == "success"
    log = log_of(capfd, caplog)
    assert DEFERRED not in log
    assert "Runflow summary" in log


def test_a_batch_that_outlasts_the_worker_wait_defers(
    runflow_connection: RunflowEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS", "0.5")
    run = scenario("rf_two_seconds").test()
    assert run.state == "success"
    assert DEFERRED in log_of(capfd, caplog)
    assert [entry["status"] for entry in xcom(run, "run")] == ["succeeded"] * 3


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_bad_setting_fails_the_task_naming_it(
    value: str,
    runflow_connection: RunflowEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS", value)
    run = scenario("rf_single").test()
    assert run.state == "failed"
    assert "worker_wait_seconds" in log_of(capfd, caplog)
