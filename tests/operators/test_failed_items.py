"""Failed items named in the failure message and the summary, and re-run in rounds, through dag.test()."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal
from typing import Any

import pytest
from airflow_support import scenario, states, xcom

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")

CREATE = "POST /v1/models/{owner}/{slug}/batches"
MODES = ["deferred", "blocking"]


def retries() -> Any:
    return importlib.import_module("runflow_retries")


def posts(emu: RunflowEmulator) -> dict[str, dict[str, int]]:
    """Every POST route the task sent, with its answers by status."""
    return {route: by for route, by in emu.counters()["requests"].items() if route.startswith("POST")}


NAMED_MESSAGE = """21 of 30 items did not succeed (max_failed_items=0). Failed items:
  7 \u00d7 WORKER_LOST: the GPU worker went away (attempt 1): input[1] (client_ref 'ref-1'), \
input[3] (client_ref 'ref-3'), input[5] (client_ref 'ref-5'), input[7] (client_ref 'ref-7'), \
input[9] (client_ref 'ref-9'), input[11] (client_ref 'ref-11'), input[13] (client_ref 'ref-13')
  13 \u00d7 MODEL_ERROR: acme/test-model failed on purpose (input fail=true): input[2] (client_ref 'ref-2'), \
input[4] (client_ref 'ref-4'), input[6] (client_ref 'ref-6'), input[8] (client_ref 'ref-8'), \
input[10] (client_ref 'ref-10'), input[12] (client_ref 'ref-12'), \
input[14] (client_ref 'ref-14'), input[16] (client_ref 'ref-16'), input[18] (client_ref 'ref-18'), \
input[20] (client_ref 'ref-20'), input[22] (client_ref 'ref-22'), input[24] (client_ref 'ref-24'), \
input[26] (client_ref 'ref-26')
  and 1 more"""


@pytest.mark.parametrize("mode", MODES)
def test_the_failure_message_names_the_failed_items_grouped_by_error(
    runflow_connection: RunflowEmulator, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario(f"rf_named_failures_{mode}").test()
    assert states(run)[("run", -1)] == "failed"
    assert NAMED_MESSAGE in capfd.readouterr().out
    summary = xcom(run, "run", key="summary")
    assert [item["index"] for item in summary["failed_items"]] == [*range(1, 15), *range(16, 30, 2)]
    assert summary["failed_items"][0] == {
        "index": 1,
        "client_ref": "ref-1",
        "status": "failed",
        "error": {"code": "WORKER_LOST", "message": "the GPU worker went away (attempt 1)"},
        "batch_id": summary["batch_ids"][0],
    }


def test_the_sensor_names_the_failed_items_as_the_operator_does(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    named = retries().NAMED
    with RunflowClient(ClientConfig(api_key=runflow_connection.api_key, base_url=runflow_connection.url)) as client:
        ids = [
            str(client.send(calls.create_batch("acme/test-model", build_batch_request(named[i : i + 15]))).id)
            for i in range(0, 30, 15)
        ]
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_BATCH_IDS", json.dumps(ids))
    run = scenario("rf_sensor_deferred").test()
    assert states(run)[("wait", -1)] == "failed"
    assert NAMED_MESSAGE in capfd.readouterr().out
    assert len(xcom(run, "wait", key="summary")["failed_items"]) == 21


@pytest.mark.parametrize("mode", MODES)
def test_transient_failures_are_re_run_until_every_item_succeeded(
    runflow_connection: RunflowEmulator, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario(f"rf_retry_transient_{mode}").test()
    assert states(run)[("run", -1)] == "success"
    entries = xcom(run, "run")
    transient = retries().TRANSIENT
    assert [e["index"] for e in entries] == list(range(200))
    assert [e["client_ref"] for e in entries] == [f"ref-{i}" for i in range(200)]
    assert all(
        e["status"] == "succeeded" and e["output"]["text"] == f"{mode}-{i}".upper() for i, e in enumerate(entries)
    )
    assert [e["attempts"] for e in entries] == [1 + transient.get(i, 0) for i in range(200)]
    summary = xcom(run, "run", key="summary")
    assert [(r["round"], r["items"], r["batches"], r["succeeded"], r["failed"]) for r in summary["rounds"]] == [
        (0, 200, 2, 190, 10),
        (1, 10, 1, 6, 4),
        (2, 4, 1, 4, 0),
    ]
    assert Decimal(summary["cost"]) == Decimal("0.2000")
    assert (summary["succeeded"], summary["failed"], summary["failed_items"]) == (200, 0, [])
    assert entries[23]["batch_id"] == summary["batch_ids"][-1]  # the attempt that produced it: round 2's batch
    assert xcom(run, "run", key="batch_ids") == summary["batch_ids"]  # every round's, for the page and lineage
    assert posts(runflow_connection) == {CREATE: {"201": 4}}
    assert runflow_connection.counters()["batches_created"] == 4
    out = capfd.readouterr().out
    assert "round 1: re-running 10 failed items in 1 batch" in out
    assert "round 2: re-running 4 failed items in 1 batch" in out


@pytest.mark.parametrize("mode", MODES)
def test_permanent_failures_fail_the_task_after_every_round_naming_them(
    runflow_connection: RunflowEmulator, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario(f"rf_retry_permanent_{mode}").test()
    assert states(run)[("run", -1)] == "failed"
    out = capfd.readouterr().out
    assert (
        "3 of 30 items did not succeed (max_failed_items=0). Failed items:\n"
        "  3 \u00d7 MODEL_ERROR: acme/test-model failed on purpose (input fail=true): input[3] (client_ref 'ref-3'), "
        "input[11] (client_ref 'ref-11'), input[12] (client_ref 'ref-12')"
    ) in out
    summary = xcom(run, "run", key="summary")
    assert [(r["round"], r["items"], r["failed"]) for r in summary["rounds"]] == [(0, 30, 4), (1, 4, 3), (2, 3, 3)]
    assert len(xcom(run, "run", key="batch_ids")) == 3  # recorded round by round, before the task failed
    assert [(i["index"], i["client_ref"]) for i in summary["failed_items"]] == [
        (3, "ref-3"),
        (11, "ref-11"),
        (12, "ref-12"),
    ]
    assert posts(runflow_connection) == {CREATE: {"201": 3}}
