"""Asset events with the scheduler really running: a consumer after each producer run, a DAG per callback.

The emulator delivers its real signed callbacks to the running api-server; forged, unsigned,
replayed and oversized deliveries record nothing and start nothing, and the webhook secret
appears in no Airflow log.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from airflow_stack import AirflowStack

from airflow_provider_runflow.client import (
    SIGNATURE_HEADER,
    ClientConfig,
    RunflowClient,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.client.signing import runflow_signature

pytestmark = pytest.mark.fullstack
PRODUCER, CONSUMER = "runflow_fullstack_producer", "runflow_fullstack_consumer"
ON_CALLBACKS = "runflow_fullstack_on_callbacks"


def finished_runs(stack: AirflowStack, dag_id: str, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    """Wait until ``dag_id`` has ``count`` finished runs; fail if it has more."""

    def done() -> list[dict[str, Any]] | None:
        runs = stack.dag_runs(dag_id)
        assert len(runs) <= count, [run["run_id"] for run in runs]
        return runs if len(runs) == count and all(run["state"] in ("success", "failed") for run in runs) else None

    return stack.wait_for(done, timeout, f"{count} finished runs of {dag_id}")


def test_the_consumer_runs_once_per_producer_run_with_its_batches(stack: AirflowStack) -> None:
    produced = []
    for count in (1, 2):
        run_id = stack.trigger_dag(PRODUCER)
        assert stack.wait_for_run(PRODUCER, run_id) == "success", stack.report()
        produced.append(stack.xcom(PRODUCER, run_id, "run", "batch_ids"))
        consumed = finished_runs(stack, CONSUMER, count)

    assert [run["state"] for run in consumed] == ["success", "success"]
    assert [run["run_type"] for run in consumed] == ["asset_triggered", "asset_triggered"]
    assert [stack.xcom(CONSUMER, run["dag_run_id"], "consume") for run in consumed] == [[ids] for ids in produced]


def post(stack: AirflowStack, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Runflow-Request-Id": str(uuid.uuid4())}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    with stack.api() as client:
        return client.post("/runflow-callbacks/runflow_default", content=body, headers=headers)


def test_emulator_callbacks_run_the_dag_scheduled_on_them_once_per_batch(stack: AirflowStack) -> None:
    callback_url = f"{stack.api_url}/runflow-callbacks/runflow_default"
    config = ClientConfig(api_key=stack.api_key, base_url=stack.emulator_url)
    batch_ids = []
    with RunflowClient(config) as client:
        for count in (1, 2):
            request = build_batch_request([{"text": "hello", "run_seconds": 1}], callback_url=callback_url)
            batch_ids.append(client.send(calls.create_batch("acme/test-model", request)).id)
            runs = finished_runs(stack, ON_CALLBACKS, count)
        [delivery] = client.send(calls.get_batch_callback(batch_ids[0]))
        client.send(calls.redeliver_batch_callback(batch_ids[0]))  # Runflow's own redelivery: a duplicate
        redelivered = stack.wait_for(
            lambda: [d for d in client.send(calls.get_batch_callback(batch_ids[0]))[1:] if d.status_code != "pending"],
            30,
            "the emulator to redeliver the callback",
        )
    assert [stack.xcom(ON_CALLBACKS, run["dag_run_id"], "on_batch") for run in runs] == [[b] for b in batch_ids]
    assert (delivery.status_code, [a.status_code for a in delivery.attempts or []]) == ("succeeded", [200])
    assert [d.status_code for d in redelivered] == ["succeeded"]

    body = delivery.payload_bytes.encode()
    forged_new = body.replace(batch_ids[0].encode(), str(uuid.uuid4()).encode())
    answers = {
        "replayed": post(stack, body, runflow_signature(stack.webhook_secret, body)),
        "forged": post(stack, forged_new, runflow_signature("whsec_guessed", forged_new)),
        "unsigned": post(stack, forged_new, None),
        "oversized": post(stack, body + b" " * (2 * 1024 * 1024), "0" * 64),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "replayed": 200, "forged": 401, "unsigned": 401, "oversized": 413,
    }  # fmt: skip
    assert answers["replayed"].json()["duplicate"] is True

    time.sleep(3 * 2)  # three scheduler heartbeats: nothing new to run
    assert len(stack.dag_runs(ON_CALLBACKS)) == 2
    leaked = [name for name, text in stack.airflow_logs().items() if stack.webhook_secret in text]
    assert leaked == []
