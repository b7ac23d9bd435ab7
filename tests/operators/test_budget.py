"""The spend guard (``max_cost``) through dag.test() against the emulator: 1,000 inputs at 0.004 each, 4.00 in all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from airflow_support import scenario, states, xcom
from hitl_support import Responder

from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
CREATE = "POST /v1/models/{owner}/{slug}/batches"


def created(emu: RunflowEmulator) -> int:
    return int(emu.counters()["batches_created"])


def log_of(capfd: pytest.CaptureFixture[str]) -> str:
    captured = capfd.readouterr()
    return captured.out + captured.err


def test_a_budget_too_small_runs_what_fits_then_fails_once_naming_the_figures(
    runflow_connection: RunflowEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario("rf_budget_fail").test()

    assert states(run)[("run", -1)] == "failed"
    summary = xcom(run, "run", key="summary")
    paid = summary["succeeded"]
    assert paid <= 250  # 1.00 / 0.004, in whole batches of 100
    assert Decimal(summary["cost"]) <= Decimal("1.00")
    assert (summary["skipped"], summary["total"], summary["max_cost"]) == (1000 - paid, 1000, "1.00")
    assert created(runflow_connection) == paid // 100
    log = log_of(capfd)
    assert f"Budget max_cost=1.00 reached: spent {Decimal(paid) * Decimal('0.004'):.4f} on {paid} items" in log
    assert "all 1000 inputs would cost about 4.0000" in log
    assert f"{1000 - paid} inputs were not submitted (input[{paid}] to input[999])" in log
    assert "Not retried: a retry would skip the same inputs" in log


def test_on_budget_continue_succeeds_with_the_skipped_inputs_entries_in_order(
    runflow_connection: RunflowEmulator,
) -> None:
    run = scenario("rf_budget_continue").test()

    assert run.state == "success"
    entries = xcom(run, "run")
    assert [e["index"] for e in entries] == list(range(1000))
    ran = [e for e in entries if e["status"] == "succeeded"]
    skipped = [e for e in entries if e["status"] == "skipped"]
    assert len(ran) + len(skipped) == 1000
    assert [e["index"] for e in skipped] == list(range(len(ran), 1000))  # the tail, never a gap
    assert {e["error"]["code"] for e in skipped} == {"BUDGET_EXCEEDED"}
    assert {e["client_ref"] for e in skipped[:1]} == {f"ref-{len(ran)}"}
    assert sum(Decimal(e["cost"]) for e in ran) <= Decimal("1.00")
    assert created(runflow_connection) == len(ran) // 100


def test_a_budget_large_enough_sends_what_a_run_without_one_sends(runflow_connection: RunflowEmulator) -> None:
    bodies: dict[str, list[list[str]]] = {}
    for dag_id in ("rf_budget_none", "rf_budget_ample"):
        runflow_connection.reset()
        run = scenario(dag_id).test()
        assert run.state == "success"
        summary = xcom(run, "run", key="summary")
        assert (summary["succeeded"], summary["skipped"], summary["cost"]) == (1000, 0, "4.0000")
        bodies[dag_id] = sorted(batches_of(runflow_connection))
    assert bodies["rf_budget_ample"] == bodies["rf_budget_none"]
    assert [len(body) for body in bodies["rf_budget_none"]] == [100] * 10


def batches_of(emu: RunflowEmulator) -> list[list[str]]:
    """The inputs (their text) of every batch the task polled, as Runflow holds them."""
    from airflow_provider_runflow.client import ClientConfig, RunflowClient, calls

    ids = [r["path"].rsplit("/", 1)[-1] for r in emu.requests_log() if r["route"] == "GET /v1/batches/{id}"]
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url)) as client:
        return [
            [i["text"] for i in client.send(calls.get_batch(batch_id)).input or []] for batch_id in dict.fromkeys(ids)
        ]


def test_on_budget_ask_goes_on_with_the_budget_a_person_raised_then_stops_where_they_say(
    runflow_connection: RunflowEmulator, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    raise_to_2 = ("rest", "Raise max_cost", {"max_cost": "2.00"})
    too_low = ("rest", "Raise max_cost", {"max_cost": "1.50"})  # not above the 2.00 in force: asked again
    stop = ("rest", "Stop here", {"max_cost": ""})
    person = Responder("rf_budget_ask", [raise_to_2, too_low, stop], api)
    try:
        run = scenario("rf_budget_ask").test()
    finally:
        person.close()

    assert run.state == "success"
    assert person.asked == 3
    summary = xcom(run, "run", key="summary")
    assert summary["succeeded"] == 500  # 1.00 bought 200 items, 2.00 another 300 (waves of 200, then 100)
    assert (summary["skipped"], summary["max_cost"], summary["cost"]) == (500, "2.00", "2.0000")
    assert created(runflow_connection) == 5
