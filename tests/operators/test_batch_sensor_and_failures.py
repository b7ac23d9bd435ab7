"""Batch-level failures, the sensor, and the extra link, through dag.test() against the emulator."""

from __future__ import annotations

import json
import threading
import time

import pytest
from airflow_support import scenario, states, xcom

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")


def fail_first_polled_batch(emu: RunflowEmulator, status: str) -> threading.Thread:
    """In the background, as soon as the task polls a batch, make Runflow report it as ``status``."""

    def watch() -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            polled = [r["path"] for r in emu.requests_log() if r.get("route") == "GET /v1/batches/{id}"]
            if polled:
                emu.force_batch_status(polled[0].rsplit("/", 1)[1], status, "GPU_UNAVAILABLE", "no capacity left")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("status", ["failed", "errored", "canceled"])
def test_batch_level_failure_fails_the_task_with_runflows_failure_code(
    runflow_connection: RunflowEmulator, status: str, capfd: pytest.CaptureFixture[str]
) -> None:
    watcher = fail_first_polled_batch(runflow_connection, status)
    run = scenario("rf_slow").test()
    watcher.join()
    assert states(run)[("run", -1)] == "failed"
    normalized = "cancelled" if status == "canceled" else status
    assert f"{normalized}: GPU_UNAVAILABLE (no capacity left)" in capfd.readouterr().out


def create_batches(emu: RunflowEmulator, fails: list[int]) -> list[str]:
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url)) as client:
        ids = []
        for fail in fails:
            inputs = [{"text": f"t{i}", "run_seconds": 0.3, "fail": i < fail} for i in range(5)]
            batch = client.send(calls.create_batch("acme/test-model", build_batch_request(inputs)))
            assert batch.id
            ids.append(batch.id)
        return ids


@pytest.mark.parametrize("mode", ["deferred", "poke"])
def test_sensor_waits_for_existing_batches_and_returns_their_summary(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    ids = create_batches(runflow_connection, [0, 0])
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_BATCH_IDS", json.dumps(ids))
    run = scenario(f"rf_sensor_{mode}").test()
    assert run.state == "success"
    summary = xcom(run, "wait")
    assert summary["batch_ids"] == ids
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (10, 10, 0)
    assert xcom(run, "wait", key="summary") == summary  # the operator's key, the operator's fields
    assert summary["duration_seconds"] > 0
    assert runflow_connection.counters()["batches_created"] == 2


def test_sensor_fails_when_items_failed_beyond_the_policy(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    ids = create_batches(runflow_connection, [0, 2])
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_BATCH_IDS", json.dumps(ids))
    run = scenario("rf_sensor_deferred").test()
    assert states(run)[("wait", -1)] == "failed"
    assert "2 of 10 items did not succeed" in capfd.readouterr().out


def test_extra_link_points_at_the_batch(runflow_connection: RunflowEmulator) -> None:
    run = scenario("rf_single").test()
    [batch_id] = xcom(run, "run", key="batch_ids")
    link = xcom(run, "run", key="_link_RunflowBatchLink")
    assert link.startswith("http")
    assert batch_id in link
