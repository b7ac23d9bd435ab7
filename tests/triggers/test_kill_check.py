"""on_kill tells a user kill from a trigger that moved to another triggerer by asking Airflow for the task's state.

Airflow 3.3.0-3.3.2 call ``on_kill`` in both cases (apache/airflow#73454). The triggerer's
supervisor is the one thing stood in for here: it answers the state question as Airflow would.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

CANCEL_RUN = "POST /v1/admin/runs/{run_id}/cancellation"
TI = SimpleNamespace(dag_id="generate", run_id="manual__1", task_id="run", map_index=3)


class Supervisor:
    """The triggerer's supervisor, answering GetTaskStates with one state (or failing)."""

    def __init__(self, state: str | None, error: Exception | None = None, delay: float = 0.0) -> None:
        self.state, self.error, self.delay = state, error, delay
        self.asked: list[GetTaskStates] = []

    def send(self, msg: Any) -> TaskStatesResult:
        assert isinstance(msg, GetTaskStates)
        self.asked.append(msg)
        time.sleep(self.delay)  # called in a worker thread, as Airflow's sync SDK calls are
        if self.error is not None:
            raise self.error
        return TaskStatesResult(task_states={TI.run_id: {f"{TI.task_id}_{TI.map_index}": self.state}})


@pytest.fixture
def service_key(runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> RunflowEmulator:
    monkeypatch.setenv(
        "AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_connection.connection_json(api_key=runflow_connection.service_key)
    )
    return runflow_connection


async def kill_in_triggerer(emu: RunflowEmulator, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> int:
    """on_kill of a cancel_on_kill trigger for TI, inside a 'triggerer'; returns how many runs were cancelled."""
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url)) as client:
        inputs = [{"text": f"t{i}", "run_seconds": 30} for i in range(2)]
        batch_id = client.send(calls.create_batch("acme/test-model", build_batch_request(inputs))).id
        killed = RunflowBatchTrigger(batch_ids=[batch_id], deadline=time.time() + 60, cancel_on_kill=True)
        killed.task_instance = TI
        await killed.on_kill()
        return client.send(calls.get_batch(batch_id)).items_cancelled


async def test_a_trigger_that_moved_to_another_triggerer_cancels_nothing(
    service_key: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor = Supervisor("deferred")
    assert await kill_in_triggerer(service_key, supervisor, monkeypatch) == 0
    assert CANCEL_RUN not in service_key.counters()["requests"]
    (asked,) = supervisor.asked
    assert (asked.dag_id, asked.run_ids, asked.task_ids, asked.map_index) == ("generate", ["manual__1"], ["run"], 3)
    assert "its trigger moved to another triggerer" in capsys.readouterr().out


@pytest.mark.parametrize("state", ["failed", "success", None])
async def test_a_user_kill_cancels_the_unfinished_runs(
    service_key: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, state: str | None
) -> None:
    assert await kill_in_triggerer(service_key, Supervisor(state), monkeypatch) == 2


async def test_nothing_is_cancelled_when_the_task_state_cannot_be_asked(
    service_key: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor = Supervisor(None, error=ConnectionResetError("supervisor gone"))
    assert await kill_in_triggerer(service_key, supervisor, monkeypatch) == 0
    assert "could not tell a user kill from a triggerer handover (supervisor gone)" in capsys.readouterr().out


async def test_a_user_kill_cancels_even_when_airflow_cancels_on_kill_again(
    service_key: RunflowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow 3.3.2 re-sends the cancel every sync until the trigger ends: a slow on_kill still cancels."""
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Supervisor("failed", delay=1.0), raising=False)
    with RunflowClient(ClientConfig(api_key=service_key.api_key, base_url=service_key.url)) as client:
        inputs = [{"text": "t", "run_seconds": 30}]
        batch_id = client.send(calls.create_batch("acme/test-model", build_batch_request(inputs))).id
        killed = RunflowBatchTrigger(batch_ids=[batch_id], deadline=time.time() + 60, cancel_on_kill=True)
        killed.task_instance = TI
        on_kill = asyncio.ensure_future(killed.on_kill())
        await asyncio.sleep(0.2)
        on_kill.cancel()  # the second cancel, while the task state is being asked
        with pytest.raises(asyncio.CancelledError):
            await on_kill
        for _ in range(50):
            await asyncio.sleep(0.1)
            if client.send(calls.get_batch(batch_id)).items_cancelled:
                break
        assert client.send(calls.get_batch(batch_id)).items_cancelled == 1
