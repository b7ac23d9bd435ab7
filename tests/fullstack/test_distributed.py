"""A distributed run on Airflow's own machinery: CeleryExecutor on Redis, PostgreSQL, S3, two of everything.

Two Celery workers, two triggerers and two api-servers (with real logins) share one
PostgreSQL; media go to S3 (moto's server). One mapped run (``distributed_run``), with every
operator setting a user would leave at its default and Runflow and media faults injected, must
finish with every task succeeded on either worker and nothing paid twice, every image in the
bucket written once, and the outputs tab served by either api-server. Then one signed callback
sent 30 times at once to both api-servers must be one asset event.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter

import pytest
from airflow_stack import AirflowStack
from distributed_support import (
    DAG_ID,
    FAULTS,
    IMAGES,
    MEDIA_FAULT,
    MEDIA_ROOT,
    TASKS,
    DistributedRun,
    deliver_at_once,
    events_of_batch,
    mapped_states,
    media_downloads,
    outputs_page,
    race_lines,
    stored_bytes,
    tasks_by_triggerer,
    thumbnails,
    undelivered_callback,
    workers_by_task,
    writes_by_key,
)

pytestmark = pytest.mark.distributed
DELIVERIES = 30


def test_every_mapped_task_succeeds_on_either_worker_without_paying_a_batch_twice(
    distributed_stack: AirflowStack, distributed_run: DistributedRun
) -> None:
    stack, run = distributed_stack, distributed_run
    states = mapped_states(stack, run.run_id)
    races = race_lines(stack)
    failed = sorted(k for k, state in states.items() if state != "success")
    assert (run.state, failed) == ("success", []), f"{len(races)} defer races:\n" + "\n".join(races) + stack.report()
    assert len(states) == TASKS
    # A batch per task and one re-run round per task: the lost creations were replayed, not created again.
    assert run.counters["batches_created"] == 2 * TASKS
    requests = run.counters["requests"]
    fired = {route: requests[route].get(fault.counted_as) for route, fault in FAULTS.items()}
    assert fired == {route: fault.times for route, fault in FAULTS.items()}
    workers = workers_by_task(stack, run.run_id)
    assert sorted(workers) == list(range(TASKS))
    starts = Counter(name for ran_on in workers.values() for name in ran_on)
    assert set(starts) == {"worker", "worker2"}
    answered = {route: requests[route] for route in FAULTS}
    print(
        f"\nDistributed run: {TASKS} tasks x {IMAGES} images, {run.state} in {run.seconds:.0f} s (stack up in"
        f" {stack.startup_seconds:.0f} s); task states {dict(Counter(states.values()))}; starts per worker"
        f" {dict(starts)}; tasks run on both {sum(len(set(ran_on)) > 1 for ran_on in workers.values())};"
        f" workers by task {dict(sorted(workers.items()))}; tasks per triggerer"
        f" {dict(tasks_by_triggerer(stack, run.run_id))}; defer races in the scheduler log {len(races)};"
        f" batches created {run.counters['batches_created']} ({2 * TASKS} expected); answers by route {answered}"
    )


def test_every_image_is_written_to_s3_once_and_each_task_records_its_event(
    distributed_stack: AirflowStack, distributed_run: DistributedRun
) -> None:
    stack, run = distributed_stack, distributed_run
    entries = {k: stack.xcom(DAG_ID, run.run_id, "run", map_index=k) for k in range(TASKS)}
    for k, task in entries.items():
        # The first image of each task failed once and was re-run in the second round.
        assert [(e["index"], e["status"], e.get("attempts")) for e in task] == [
            (i, "succeeded", 2 if i == 0 else 1) for i in range(IMAGES)
        ]
        assert [e["media"][0]["path"].split("/")[-3:] for e in task] == [
            ["run", str(k), f"{i:05d}.png"] for i in range(IMAGES)
        ]
    records = {e["media"][0]["path"]: e["media"][0] for task in entries.values() for e in task}
    downloads = media_downloads(stack)
    assert (downloads["200"], downloads[MEDIA_FAULT.counted_as]) == (TASKS * IMAGES, MEDIA_FAULT.times)
    writes = writes_by_key(run.bucket)
    images = {key: n for key, n in writes.items() if not key.rsplit("/", 1)[1].startswith("SHA256SUMS.")}
    assert images == {path.split("/", 3)[3]: 1 for path in records}
    for path, record in records.items():
        assert hashlib.sha256(stored_bytes(run.bucket, path)).hexdigest() == record["sha256"]
    events = stack.get("/assets/events", source_dag_id=DAG_ID, source_run_id=run.run_id, limit=100)["asset_events"]
    assert sorted(e["source_map_index"] for e in events) == list(range(TASKS))
    assert {(e["extra"]["counts"]["succeeded"], e["extra"]["media_path"]) for e in events} == {(IMAGES, MEDIA_ROOT)}
    for event in events:  # each task's own two batches, not every task's
        own = {entry["batch_id"] for entry in entries[event["source_map_index"]]}
        assert sorted(event["extra"]["batch_ids"]) == sorted(own)
    print(
        f"\nDistributed media: {len(images)} images and {len(writes) - len(images)} checksum files in S3, most"
        f" writes of one key {max(writes.values())}; media downloads by answer {dict(downloads)};"
        f" {len(events)} asset events"
    )


def test_either_api_server_shows_a_viewer_logged_in_there_the_thumbnails_from_s3(
    distributed_stack: AirflowStack, distributed_run: DistributedRun
) -> None:
    stack, run = distributed_stack, distributed_run
    started = time.monotonic()
    for api_server in stack.api_ports:
        url = stack.api_url_of(api_server)
        assert outputs_page(url, None, run.run_id, 0).status_code == 401
        token = stack.login("analyst", api_server)
        for k in (0, TASKS - 1):
            page = outputs_page(url, token, run.run_id, k)
            assert page.status_code == 200, page.text[:500]
            entries = stack.xcom(DAG_ID, run.run_id, "run", map_index=k)
            assert thumbnails(page, token) == [stored_bytes(run.bucket, e["media"][0]["path"]) for e in entries]
    seconds = time.monotonic() - started
    print(f"\nDistributed tab: 2 pages and {2 * IMAGES} thumbnails through each api-server in {seconds:.1f} s")


def test_one_callback_sent_30_times_at_once_to_both_api_servers_is_one_event(distributed_stack: AirflowStack) -> None:
    stack = distributed_stack
    batch_id, body = undelivered_callback(stack)
    started = time.monotonic()

    answers = deliver_at_once(stack, body, DELIVERIES)

    seconds = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * DELIVERIES, [a.text[:200] for a in answers]
    outcomes = Counter((a.json()["recorded"], a.json()["duplicate"]) for a in answers)
    assert outcomes == {(True, False): 1, (False, True): DELIVERIES - 1}
    assert len(events_of_batch(stack, batch_id)) == 1
    print(f"\nDistributed callbacks: {DELIVERIES} at once in {seconds:.1f} s: {dict(outcomes)}, 1 event")
