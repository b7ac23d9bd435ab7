"""A worker or triggerer that dies at the worst moment costs no second batch and loses no result.

The triggerer killed -9 mid-poll, with the full Airflow stack, is
``tests/fullstack/test_deferred_run.py::test_a_killed_triggerer_is_replaced_without_new_batches``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from airflow.triggers.base import TriggerEvent
from reliability_support import CREATE, GET_BATCH, TaskInstanceStub, WorkerDied, client_of

from airflow_provider_runflow.client import build_batch_request, calls
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

INPUTS = [{"text": f"item-{i}", "client_ref": f"ref-{i}", "run_seconds": 0.05} for i in range(250)]


def operator() -> RunflowBatchOperator:
    return RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=INPUTS, poll_interval=0.1)


def deferred_batch_ids(ti: TaskInstanceStub) -> list[str]:
    """Run the task's try against ``ti`` and return the batch ids its trigger waits for."""
    with pytest.raises(TaskDeferred) as deferred:
        operator().execute({"ti": ti})  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, RunflowBatchTrigger)
    return trigger.batch_ids


def test_a_worker_dying_after_the_posts_is_retried_onto_the_same_batches(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    first_try = TaskInstanceStub(die_on_push=True)
    with pytest.raises(WorkerDied):
        operator().execute({"ti": first_try})  # type: ignore[arg-type]
    created_by_first_try = first_try.pushed["batch_ids"]
    assert runflow_connection.counters()["batches_created"] == 3

    second_try = deferred_batch_ids(TaskInstanceStub())

    figures(
        lost=0,
        duplicates=runflow_connection.counters()["batches_created"] - 3,
        checked="in-process death after the 3 POSTs, before deferring; try 2 defers on the same 3 batch ids",
    )
    assert second_try == created_by_first_try
    assert runflow_connection.counters()["batches_created"] == 3
    assert runflow_connection.counters()["requests"][CREATE] == {"201": 6}  # 3 replays, nothing new


WORKER = textwrap.dedent(
    """
    import sys
    from airflow_provider_runflow.operators.batch import RunflowBatchOperator

    class Ti:
        dag_id, task_id, run_id, map_index = "reliability", "run", "manual__kill9", -1
        def xcom_push(self, key, value):
            pass

    inputs = [{"text": f"item-{i}", "client_ref": f"ref-{i}", "run_seconds": 0.05} for i in range(250)]
    print("ready", flush=True)
    RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=inputs).execute({"ti": Ti()})
    """
)


def test_a_worker_killed_9_between_two_posts_is_retried_without_a_second_bill(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    """The third POST is held back 3 s by Runflow; the worker is SIGKILLed while waiting for it.

    Runflow still creates that batch when the held-back request completes; try 2 creates none:
    it replays all three by Idempotency-Key, whichever of its POST and the orphaned one is first.
    """
    runflow_connection.set_faults(
        [FaultRule(route=CREATE, sequence=(FaultKind.NONE, FaultKind.NONE, FaultKind.DELAY), delay=3.0)]
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while runflow_connection.counters()["batches_created"] < 2:
            assert worker.poll() is None, "the worker exited before sending two POSTs"
            assert time.monotonic() < deadline, "the worker never sent two POSTs"
            time.sleep(0.05)
        time.sleep(0.3)  # the third POST is on the wire, held back by Runflow
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL

    second_try = deferred_batch_ids(TaskInstanceStub(run_id="manual__kill9"))
    time.sleep(3.0)  # the orphaned POST of the killed worker has been answered by now

    created = runflow_connection.counters()["batches_created"]
    figures(
        lost=0,
        duplicates=created - 3,
        checked="subprocess SIGKILLed while its 3rd POST was in flight; try 2 defers on 3 batches, 3 created",
    )
    assert len(set(second_try)) == 3
    assert created == 3
    with client_of(runflow_connection) as client:
        assert [client.send(calls.get_batch(batch_id)).items_total for batch_id in second_try] == [100, 100, 50]


async def events_of(trigger: RunflowBatchTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def create_batches(emu: RunflowEmulator, count: int, run_seconds: float) -> list[str]:
    inputs = [{"text": f"t{i}", "run_seconds": run_seconds} for i in range(5)]
    with client_of(emu) as client:
        return [
            str(client.send(calls.create_batch("acme/test-model", build_batch_request(inputs))).id)
            for _ in range(count)
        ]


async def test_two_triggers_on_the_same_batches_at_once_under_faults_agree_and_change_nothing(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    ids = create_batches(runflow_connection, 3, run_seconds=0.5)
    kinds = [FaultKind.SERVER_ERROR, FaultKind.DROP_CONNECTION, FaultKind.MALFORMED_JSON, FaultKind.LOSE_RESPONSE]
    runflow_connection.set_faults([FaultRule(route=GET_BATCH, kind=k, probability=0.05) for k in kinds])
    deadline = time.time() + 30

    first, second = await asyncio.gather(
        *(events_of(RunflowBatchTrigger(batch_ids=ids, deadline=deadline, poll_interval=0.1)) for _ in range(2))
    )

    def final(events: list[TriggerEvent]) -> list[tuple[Any, ...]]:
        [event] = events
        assert event.payload["status"] == "success", event.payload
        return [(b["batch_id"], b["status"], b["items_succeeded"]) for b in event.payload["batches"]]

    counters = runflow_connection.counters()
    figures(lost=0, duplicates=counters["batches_created"] - 3, checked="2 triggers at once: 1 event each, equal")
    assert final(first) == final(second) == [(batch_id, "succeeded", 5) for batch_id in ids]
    assert counters["batches_created"] == 3
    assert set(counters["requests"]) == {CREATE, GET_BATCH}
    assert counters["requests"][CREATE] == {"201": 3}  # only this test's own setup: the triggers never POST


async def test_a_trigger_resumed_in_another_process_keeps_the_original_deadline(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    """A triggerer restart rebuilds the trigger from its serialized kwargs: the deadline must not restart."""
    ids = create_batches(runflow_connection, 1, run_seconds=60)
    original = RunflowBatchTrigger(batch_ids=ids, deadline=time.time() + 1.5, poll_interval=0.1)
    polling = asyncio.ensure_future(events_of(original))
    await asyncio.sleep(0.5)
    polling.cancel()  # the triggerer process is gone
    with pytest.raises(asyncio.CancelledError):
        await polling

    classpath, kwargs = original.serialize()
    assert classpath == "airflow_provider_runflow.triggers.batch.RunflowBatchTrigger"
    resumed = RunflowBatchTrigger(**json.loads(json.dumps(kwargs)))
    [event] = await events_of(resumed)

    figures(lost=0, duplicates=0, checked="cancelled mid-poll, rebuilt from JSON kwargs: timeout at the first deadline")
    assert resumed.deadline == original.deadline
    assert event.payload["status"] == "timeout"
    assert time.time() < original.deadline + 5  # a restarted 1.5 s deadline would end no sooner than now + 1.5
    assert runflow_connection.counters()["batches_created"] == 1


def drive(task: RunflowBatchOperator, ti: TaskInstanceStub, deferrals: int | None = None) -> Any:
    """Run a try in-process as Airflow would: each deferral's trigger to its event, then the resume.

    With ``deferrals``, the worker dies at that deferral instead (nothing after it runs).
    """
    context: Any = {"ti": ti}
    step = lambda: task.execute(context)  # noqa: E731
    seen = 0
    while True:
        try:
            return step()
        except TaskDeferred as deferred:
            seen += 1
            if seen == deferrals:
                raise WorkerDied from None
            event = asyncio.run(anext(deferred.trigger.run()))  # type: ignore[attr-defined]
            step = lambda event=event: task.execute_complete(context, event.payload)  # noqa: E731


def test_a_budgeted_task_that_dies_between_waves_pays_nothing_twice_on_retry(
    runflow_connection: RunflowEmulator, figures: Any
) -> None:
    priced = [{**item, "cost": 0.004} for item in INPUTS] * 4  # 1,000 inputs, 4.00 in all

    def budgeted() -> RunflowBatchOperator:
        return RunflowBatchOperator(
            task_id="run", model="acme/test-model", inputs=priced, poll_interval=0.1, max_cost="1.00",
            on_budget="continue",
        )  # fmt: skip

    with pytest.raises(WorkerDied):
        drive(budgeted(), TaskInstanceStub(run_id="manual__budget"), deferrals=2)  # dies once wave 2 is sent
    assert runflow_connection.counters()["batches_created"] == 2

    entries = drive(budgeted(), TaskInstanceStub(run_id="manual__budget"))

    figures(
        lost=0,
        duplicates=runflow_connection.counters()["batches_created"] - 2,
        checked="max_cost=1.00 over 1,000 inputs at 0.004: dies after wave 2; the retry re-attaches to both waves",
    )
    assert runflow_connection.counters()["batches_created"] == 2
    assert [e["status"] for e in entries] == ["succeeded"] * 200 + ["skipped"] * 800
    assert sum(Decimal(e["cost"]) for e in entries[:200]) == Decimal("0.8000")
