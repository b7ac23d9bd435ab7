"""RunflowBatchTrigger.run() against the emulator, the way the triggerer drives it."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger
from airflow_provider_runflow.triggers.client_pool import SharedClient

GET_BATCH = "GET /v1/batches/{id}"


def create_batches(emu: RunflowEmulator, sizes: list[int], run_seconds: float = 0.3, fail: int = -1) -> list[str]:
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url)) as client:
        ids = []
        for size in sizes:
            inputs = [{"text": f"t{i}", "run_seconds": run_seconds, "fail": i == fail} for i in range(size)]
            batch = client.send(calls.create_batch("acme/test-model", build_batch_request(inputs)))
            assert batch.id
            ids.append(batch.id)
        return ids


async def events_of(trigger: RunflowBatchTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def trigger(batch_ids: list[str], **kwargs: Any) -> RunflowBatchTrigger:
    arguments: dict[str, Any] = {"deadline": time.time() + 60, "poll_interval": 0.1, **kwargs}
    return RunflowBatchTrigger(batch_ids=batch_ids, **arguments)


async def test_one_success_event_with_every_batch_once_all_are_terminal(runflow_connection: RunflowEmulator) -> None:
    ids = create_batches(runflow_connection, [3, 2], fail=1)
    [event] = await events_of(trigger(ids))
    assert event.payload["status"] == "success"
    batches = {b["batch_id"]: b for b in event.payload["batches"]}
    assert list(batches) == ids
    assert batches[ids[0]]["status"] == "partial_succeeded"
    assert (batches[ids[0]]["items_succeeded"], batches[ids[0]]["items_failed"]) == (2, 1)
    assert batches[ids[1]]["status"] == "partial_succeeded"


async def test_a_20_percent_fault_rate_still_ends_in_success(runflow_connection: RunflowEmulator) -> None:
    ids = create_batches(runflow_connection, [5, 5, 5], run_seconds=1.0)
    kinds = [
        FaultKind.RATE_LIMIT_NO_RETRY_AFTER,
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.UNAVAILABLE,
        FaultKind.DROP_CONNECTION,
        FaultKind.MALFORMED_JSON,
    ]
    runflow_connection.set_faults([FaultRule(route=GET_BATCH, kind=k, probability=0.2 / len(kinds)) for k in kinds])
    [event] = await events_of(trigger(ids))
    assert event.payload["status"] == "success", event.payload["message"]
    faulted = runflow_connection.counters()["requests"][GET_BATCH]
    assert sum(n for status, n in faulted.items() if status != "200") > 0


async def test_a_rejected_key_ends_in_one_error_event_without_waiting(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = create_batches(runflow_connection, [1], run_seconds=30)
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_connection.connection_json(api_key="rf_live_wrong"))
    started = time.monotonic()
    [event] = await events_of(trigger(ids))
    assert event.payload["status"] == "error"
    assert "401" in event.payload["message"]
    assert "rf_live_wrong" not in event.payload["message"]
    assert time.monotonic() - started < 5
    assert runflow_connection.counters()["requests"][GET_BATCH] == {"401": 1}


async def test_the_deadline_ends_in_a_timeout_event_naming_the_running_batch(
    runflow_connection: RunflowEmulator,
) -> None:
    [batch_id] = create_batches(runflow_connection, [2], run_seconds=30)
    [event] = await events_of(trigger([batch_id], deadline=time.time() + 0.5))
    assert event.payload["status"] == "timeout"
    assert batch_id in event.payload["message"]


async def test_a_missing_connection_ends_in_an_error_event(runflow_connection: RunflowEmulator) -> None:
    [event] = await events_of(trigger(["b"], runflow_conn_id="no_such_connection"))
    assert event.payload["status"] == "error"
    assert "no_such_connection" in event.payload["message"]


async def test_unknown_status_keeps_the_trigger_waiting_until_the_deadline(runflow_connection: RunflowEmulator) -> None:
    [batch_id] = create_batches(runflow_connection, [1], run_seconds=0.1)
    runflow_connection.force_batch_status(batch_id, "reticulating_splines")
    [event] = await events_of(trigger([batch_id], deadline=time.time() + 1.0))
    assert event.payload["status"] == "timeout"


async def test_triggers_share_one_client_per_connection_and_close_it_after_the_last(
    runflow_connection: RunflowEmulator,
) -> None:
    ids = create_batches(runflow_connection, [1] * 20, run_seconds=0.5)
    runs = [asyncio.ensure_future(events_of(trigger([batch_id]))) for batch_id in ids]
    await asyncio.sleep(0.2)
    async with SharedClient(await RunflowHook().aclient_config()) as shared:
        pass
    assert (await shared.send(calls.poll_batch(ids[0]))).id == ids[0]  # still open: the triggers hold it
    results = await asyncio.gather(*runs)
    assert all(events[0].payload["status"] == "success" for events in results)
    with pytest.raises(RuntimeError, match="closed"):
        await shared.send(calls.poll_batch(ids[0]))


async def test_two_identical_triggers_at_once_agree_and_change_nothing(runflow_connection: RunflowEmulator) -> None:
    ids = create_batches(runflow_connection, [3], run_seconds=0.5)
    before = runflow_connection.counters()["requests"]
    first, second = await asyncio.gather(events_of(trigger(ids)), events_of(trigger(ids)))
    assert first[0].payload["status"] == second[0].payload["status"] == "success"
    assert first[0].payload["batches"][0]["items_succeeded"] == second[0].payload["batches"][0]["items_succeeded"] == 3
    sent = {route for route, counts in runflow_connection.counters()["requests"].items() if counts != before.get(route)}
    assert sent == {GET_BATCH}  # the triggers only read: nothing created, cancelled or redelivered


async def test_on_kill_cancels_unfinished_runs_with_a_service_key(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    [batch_id] = create_batches(runflow_connection, [4], run_seconds=30)
    monkeypatch.setenv(
        "AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_connection.connection_json(api_key=runflow_connection.service_key)
    )
    await trigger([batch_id], cancel_on_kill=True).on_kill()
    with RunflowClient(ClientConfig(api_key=runflow_connection.api_key, base_url=runflow_connection.url)) as client:
        batch = client.send(calls.get_batch(batch_id))
    assert batch.items_cancelled == 4


async def test_on_kill_leaves_batches_running_with_an_inference_key(runflow_connection: RunflowEmulator) -> None:
    [batch_id] = create_batches(runflow_connection, [2], run_seconds=30)
    await trigger([batch_id], cancel_on_kill=True).on_kill()
    assert "POST /v1/admin/runs/{run_id}/cancellation" not in runflow_connection.counters()["requests"]


@pytest.mark.parametrize(("kind", "pause"), [(FaultKind.RATE_LIMIT, 0.9), (FaultKind.RATE_LIMIT_NO_RETRY_AFTER, 0.45)])
async def test_a_429_pauses_every_trigger_of_the_connection(
    runflow_connection: RunflowEmulator, kind: FaultKind, pause: float
) -> None:
    """The second trigger polls every 0.1 s, yet sends nothing until the first one's 429 is waited out."""
    ids = create_batches(runflow_connection, [1, 1], run_seconds=1.5)
    runflow_connection.set_faults([FaultRule(route=GET_BATCH, sequence=(kind,), retry_after=1)])

    async def later(trigger: RunflowBatchTrigger) -> list[TriggerEvent]:
        await asyncio.sleep(0.3)
        return await events_of(trigger)

    first, second = await asyncio.gather(events_of(trigger(ids[:1])), later(trigger(ids[1:])))

    assert [e.payload["status"] for e in first + second] == ["success", "success"]
    polls = [r for r in runflow_connection.requests_log() if r["route"] == GET_BATCH]
    refused = next(r["at"] for r in polls if r["status"] == "429")
    after = [r["at"] for r in polls if r["at"] > refused]
    assert after
    assert min(after) - refused >= pause


async def test_in_a_triggerer_an_early_event_waits_until_resume_after(runflow_connection: RunflowEmulator) -> None:
    """Airflow's defer race: the event of a batch done at once is held until ``resume_after``."""
    ids = create_batches(runflow_connection, [2], run_seconds=0.01)
    resume_after = time.time() + 1.5
    held = trigger(ids, resume_after=resume_after)
    held.task_instance = SimpleNamespace(task_id="run")  # what a triggerer sets before it runs a trigger
    [event] = await events_of(held)
    assert time.time() >= resume_after
    assert event.payload["status"] == "success"


async def test_outside_a_triggerer_the_event_is_not_held(runflow_connection: RunflowEmulator) -> None:
    """dag.test() runs no scheduler to race with: its in-process trigger sends at once."""
    ids = create_batches(runflow_connection, [2], run_seconds=0.01)
    [event] = await asyncio.wait_for(events_of(trigger(ids, resume_after=time.time() + 600)), timeout=30)
    assert event.payload["status"] == "success"
