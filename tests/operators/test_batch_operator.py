"""RunflowBatchOperator end to end: dag.test() runs the DAG, the trigger in-process, against the emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from airflow_support import scenario, states, xcom

from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
CREATE = "POST /v1/models/{owner}/{slug}/batches"


def created(emu: RunflowEmulator) -> int:
    return int(emu.counters()["batches_created"])


def test_one_input_gives_one_entry_and_a_log_without_errors(
    runflow_connection: RunflowEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario("rf_single").test()  # deferred, and the connection has no dashboard_url
    assert run.state == "success"
    captured = capfd.readouterr()
    log = captured.out + captured.err
    assert "Runflow summary" in log  # the task's log was captured
    assert "XCom not found" not in log
    assert not re.search(r"\[error\s*\]", log), log
    [entry] = xcom(run, "run")
    assert entry["index"] == 0
    assert entry["client_ref"] == "ref-0"
    assert entry["status"] == "succeeded"
    assert entry["output"]
    assert entry["batch_id"] == xcom(run, "run", key="batch_ids")[0]
    assert created(runflow_connection) == 1


def comparable(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["index"], e["client_ref"], e["status"], json.dumps(e["output"], sort_keys=True)) for e in entries]


@pytest.mark.wide_mapping
def test_250_upstream_inputs_make_3_batches_and_expand_downstream_in_order_in_both_modes(
    runflow_connection: RunflowEmulator,
) -> None:
    results = {}
    for mode in ("deferred", "blocking"):
        before = created(runflow_connection)
        run = scenario(f"rf_fanout_{mode}").test()
        assert run.state == "success"
        entries = xcom(run, "run")
        assert [e["index"] for e in entries] == list(range(250))
        assert [e["client_ref"] for e in entries] == [f"ref-{i}" for i in range(250)]
        batch_ids = xcom(run, "run", key="batch_ids")
        assert len(batch_ids) == 3
        assert [e["batch_id"] for e in entries] == [batch_ids[0]] * 100 + [batch_ids[1]] * 100 + [batch_ids[2]] * 50
        mapped = {k: v for k, v in states(run).items() if k[0] == "check_entry"}
        assert len(mapped) == 250
        assert set(mapped.values()) == {"success"}
        assert created(runflow_connection) - before == 3
        summary = xcom(run, "run", key="summary")
        assert (summary["total"], summary["succeeded"], summary["failed"]) == (250, 250, 0)
        assert summary["batch_ids"] == batch_ids
        # dag.test() resumes a deferred task with the trigger's event alone: it must carry these.
        assert summary["duration_seconds"] > 0, mode
        results[mode] = comparable(entries)
    assert results["deferred"] == results["blocking"]


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [("default", "failed"), ("allow_all", "success"), ("up_to_2", "success"), ("ratio_10pct", "failed")],
)
def test_partial_failure_follows_the_policy(
    runflow_connection: RunflowEmulator, policy: str, outcome: str, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario(f"rf_partial_{policy}").test()
    assert states(run)[("run", -1)] == outcome
    summary = xcom(run, "run", key="summary")
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (10, 8, 2)
    if outcome == "success":
        entries = xcom(run, "run")
        assert [e["index"] for e in entries if e["status"] == "failed"] == [3, 7]
        assert all(e["error"] for e in entries if e["status"] == "failed")
    else:
        assert "2 of 10 items did not succeed" in capfd.readouterr().out


def test_deadline_fails_the_task_naming_the_batches_still_running(
    runflow_connection: RunflowEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario("rf_deadline").test()
    assert states(run)[("run", -1)] == "failed"
    [batch_id] = xcom(run, "run", key="batch_ids")
    out = capfd.readouterr().out
    assert "deadline passed" in out
    assert f"{batch_id} (running" in out or f"{batch_id} (queued" in out


def test_retry_reattaches_to_the_batches_of_the_first_try(runflow_connection: RunflowEmulator) -> None:
    run = scenario("rf_retry_reattach").test()
    assert run.state == "success"
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == "run"]
    assert ti.try_number == 2
    assert created(runflow_connection) == 2
    assert len(xcom(run, "run")) == 150


def test_native_template_inputs(runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [{"text": f"t{i}", "client_ref": f"n{i}", "run_seconds": 0.05} for i in range(3)]
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_INPUTS", json.dumps(inputs))
    run = scenario("rf_native_inputs").test()
    assert run.state == "success"
    assert [e["client_ref"] for e in xcom(run, "run")] == ["n0", "n1", "n2"]


def test_output_path_streams_jsonl_and_returns_a_manifest(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "results.jsonl"
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_OUTPUT_PATH", f"file://{target}")
    run = scenario("rf_output_path").test()
    assert run.state == "success"
    manifest = xcom(run, "run")
    assert manifest["items"] == 230
    assert manifest["batch_ids"] == xcom(run, "run", key="batch_ids")
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(230))
    assert all(line["status"] == "succeeded" for line in lines)
