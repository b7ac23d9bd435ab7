"""The distributed stack's checks: faults, the S3 bucket, who ran what, the outputs tab over HTTP, callbacks at once.

``runflow_distributed`` (tests/fullstack/dags) runs on it; every figure the test prints comes
from here: the emulator's counters, the bucket's object versions, Airflow's event log.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
from airflow_stack import AirflowStack
from defer_race import MISMATCH

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.client.signing import SIGNATURE_HEADER, runflow_signature
from airflow_provider_runflow.emulator.local_airflow import free_port
from airflow_provider_runflow.emulator.routes import CREATE_BATCH, GET_BATCH, LIST_ITEMS

DAG_ID = "runflow_distributed"
BUCKET = "runflow-distributed"
MEDIA_ROOT = f"s3://{BUCKET}/media"
TASKS, IMAGES = 12, 6
DISTRIBUTED_CONFIG = {
    # The api-servers may serve the stored media (and nothing else) from the bucket.
    "AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS": MEDIA_ROOT,
    "AIRFLOW__CORE__PARALLELISM": "8",
    # Every wait goes through the two triggerers: by default (10 s on the worker first) batches this fast end
    # on the worker and never defer. min_deferral_seconds keeps its default: the defer race's guard runs too.
    "AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS": "0",
}


@dataclass(frozen=True)
class Fault:
    """Every third request of a route gets ``kind`` until it fired ``times``; the counters call it ``counted_as``."""

    kind: str
    times: int
    counted_as: str

    def rule(self) -> dict[str, Any]:
        return {"sequence": [self.kind, "none", "none"] * self.times}


FAULTS = {
    # Served (the batch is created), then the answer is lost: the client replays it by its Idempotency-Key.
    CREATE_BATCH: Fault("lose_response", 8, "dropped"),
    GET_BATCH: Fault("unavailable", 4, "503"),
    LIST_ITEMS: Fault("drop_connection", 4, "dropped"),
}
MEDIA_FAULT = Fault("server_error", 4, "500")


@dataclass(frozen=True)
class DistributedRun:
    """One run of ``runflow_distributed`` under faults: how it ended and what the emulator counted."""

    run_id: str
    state: str
    seconds: float
    counters: dict[str, Any]
    bucket: Any


def run_under_faults(stack: AirflowStack) -> DistributedRun:
    """Into a fresh versioned bucket, with :data:`FAULTS` and :data:`MEDIA_FAULT` on for the run only."""
    bucket = versioned_bucket(stack)
    inject_faults(stack, [{"route": route, **fault.rule()} for route, fault in FAULTS.items()], [MEDIA_FAULT.rule()])
    started = time.monotonic()
    run_id = stack.trigger_dag(DAG_ID, {"tasks": TASKS, "images": IMAGES, "media_path": MEDIA_ROOT})
    state = stack.wait_for_run(DAG_ID, run_id, timeout=600)
    seconds = time.monotonic() - started
    inject_faults(stack, [], [])
    return DistributedRun(run_id, state, seconds, stack.emulator_counters(), bucket)


def receiver_url(api_url: str, conn_id: str = "runflow_default") -> str:
    """Where Runflow delivers callbacks signed with ``conn_id``'s secrets, on the api-server at ``api_url``."""
    return f"{api_url}/runflow-outputs/callbacks/{conn_id}"


def inject_faults(stack: AirflowStack, runflow: list[dict[str, Any]], media: list[dict[str, Any]]) -> None:
    """Replace the emulator's fault rules on the Runflow routes and on its media origin."""
    httpx.put(f"{stack.emulator_url}/_emulator/faults", json=runflow, timeout=10).raise_for_status()
    httpx.put(f"{stack.media_url}/_media/faults", json=media, timeout=10).raise_for_status()


def media_downloads(stack: AirflowStack) -> Counter[str]:
    """The media origin's answers by status (``200``, ``500``, ``dropped``...)."""
    requests = httpx.get(f"{stack.media_url}/_media/requests", timeout=30).json()
    return Counter(request["status"] for request in requests)


def versioned_bucket(stack: AirflowStack) -> Any:
    """The media bucket, created with versioning on: every write of a key is kept, so a second write shows."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=stack.s3_url, aws_access_key_id="testing", aws_secret_access_key="testing",
        region_name="us-east-1",
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def writes_by_key(client: Any) -> Counter[str]:
    """How many versions each key of the bucket has: how many times it was written."""
    written: Counter[str] = Counter()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        written.update(version["Key"] for version in page.get("Versions", []))
    return written


def stored_bytes(bucket: Any, path: str) -> bytes:
    """The object at ``s3://BUCKET/KEY`` ``path``."""
    _, _, name, key = path.split("/", 3)
    data: bytes = bucket.get_object(Bucket=name, Key=key)["Body"].read()
    return data


def mapped_states(stack: AirflowStack, run_id: str) -> dict[int, str]:
    """The state of each mapped ``run`` task, by map index."""
    listed = stack.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", task_id="run", limit=100)
    return {ti["map_index"]: ti["state"] for ti in listed["task_instances"] if ti["task_id"] == "run"}


def workers_by_task(stack: AirflowStack, run_id: str) -> dict[int, list[str]]:
    """The worker of each start of each mapped task (first run, then each resumption), from Airflow's event log."""
    logs = stack.get("/eventLogs", dag_id=DAG_ID, run_id=run_id, task_id="run", event="running", limit=500)
    starts = sorted(logs["event_logs"], key=lambda log: log["event_log_id"])
    found: dict[int, list[str]] = {}
    for log in starts:
        found.setdefault(log["map_index"], []).append(json.loads(log["extra"])["host_name"])
    return found


def tasks_by_triggerer(stack: AirflowStack, run_id: str) -> Counter[str]:
    """For how many of the run's tasks each triggerer ran a trigger, from the trigger logs named after its job.

    A task's second trigger on the same triggerer writes the same file: these are tasks, not triggers.
    """
    names = {c.job_id: c.name for c in stack.components.values() if c.job_id}
    folder = stack.task_logs / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    logs = folder.glob("**/attempt=*.log.trigger.*.log")
    return Counter(names.get(int(log.name.rsplit(".", 2)[1]), "another") for log in logs)


def race_lines(stack: AirflowStack) -> list[str]:
    """Lines where the scheduler failed a resumed task on Airflow's defer race."""
    text = stack.components["scheduler"].log.read_text(errors="replace")
    return [line for line in text.splitlines() if MISMATCH in line]


def outputs_page(api_url: str, token: str | None, run_id: str, map_index: int) -> httpx.Response:
    """The "Runflow outputs" tab's page of one mapped task, fetched as a browser with Airflow's session cookie."""
    query = urlencode({"dag_id": DAG_ID, "run_id": run_id, "task_id": "run", "map_index": map_index})
    cookies = {"_token": token} if token else None
    return httpx.get(f"{api_url}/runflow-outputs/outputs?{query}", cookies=cookies, timeout=30)


def thumbnails(page: httpx.Response, token: str) -> list[bytes]:
    """Every ``<img>`` of the page, fetched from the same api-server with the same login, in page order."""
    sources = [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page.text)]
    with httpx.Client(cookies={"_token": token}, timeout=30) as client:
        answers = [client.get(urljoin(str(page.url), src)) for src in sources]
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text[:200] for a in answers]
    return [answer.content for answer in answers]


def undelivered_callback(stack: AirflowStack) -> tuple[str, bytes]:
    """A finished batch and its real callback body, which Runflow could not deliver (nothing listens at its URL)."""
    config = ClientConfig(api_key=stack.api_key, base_url=stack.emulator_url)
    nowhere = f"http://127.0.0.1:{free_port()}/callbacks"
    with RunflowClient(config) as client:
        request = build_batch_request([{"text": "once", "run_seconds": 0.2}], callback_url=nowhere)
        batch_id = client.send(calls.create_batch("acme/test-model", request)).id
        delivery = stack.wait_for(
            lambda: next(iter(client.send(calls.get_batch_callback(batch_id))), None), 60, "the batch's callback"
        )
    assert delivery.payload_bytes is not None
    return batch_id, delivery.payload_bytes.encode()


def deliver_at_once(stack: AirflowStack, body: bytes, times: int) -> list[httpx.Response]:
    """POST the signed ``body`` ``times`` times, all released together, alternately to each api-server."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: runflow_signature(stack.webhook_secret, body)}
    urls = [receiver_url(stack.api_url_of(name)) for name in stack.api_ports]
    start = threading.Barrier(times)

    def deliver(n: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            start.wait()
            return client.post(urls[n % len(urls)], content=body, headers=headers)

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(deliver, range(times)))


def events_of_batch(stack: AirflowStack, batch_id: str) -> list[dict[str, Any]]:
    """The asset events whose ``extra`` names ``batch_id`` (the callbacks' asset's, from the REST API)."""
    events = stack.get("/assets/events", limit=500, order_by="-timestamp")["asset_events"]
    return [event for event in events if (event.get("extra") or {}).get("batch_id") == batch_id]
