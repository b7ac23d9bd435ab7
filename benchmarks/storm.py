"""429 storm: 1,000 triggers on one connection against an emulator limited to 50 requests/s.

The parent starts the emulator (items run ``RUN_SECONDS``, answers after 50 ms) and, for each
case, creates fresh one-item batches, installs the limit (a ``rate_limit`` fault rule with
``per_second``, ``Retry-After: 1``), and runs the case in a fresh child process
(``python -m benchmarks.storm``): N pollers in one loop, started over one poll interval, until
every one has seen its batch end (or given up). Our cases run ``RunflowBatchTrigger.run()``;
the peers of the trigger-scale section poll the same way with their own error handling:
Airflow's ``HttpEventTrigger`` (its hook retries 3 times, a second apart, then the trigger
counts a failed poll) and a bare shared httpx client on httpx-aiohttp (a 429 is a failed poll,
tried again next interval). The emulator's counters give the 429s and the accepted polls.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.emulators import Shards, run_child, shards
from benchmarks.triggers import ROUTE

TERMINAL = {"succeeded", "failed", "cancelled", "canceled", "errored", "completed"}
"""Batch statuses the bare peer stops at."""

CASES = (
    "per-trigger retry (previous design)",
    "shared gate",
    "shared gate + max_requests_per_second=50",
    "HttpEventTrigger (providers-http)",
    "bare shared httpx + httpx-aiohttp",
)
RUN_SECONDS = 30.0
LIMIT = 50


@dataclass(frozen=True)
class StormCase:
    case: str
    batch_ids: list[str]
    interval: float
    batches_end: float


async def _runflow_trigger(case: StormCase, batch_id: str, deadline: float) -> str:
    from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

    trigger = RunflowBatchTrigger(
        batch_ids=[batch_id], deadline=deadline, runflow_conn_id="runflow_0", poll_interval=case.interval
    )
    async for event in trigger.run():
        return str(event.payload["status"])
    return "no event"


async def _http_event_trigger(case: StormCase, batch_id: str, deadline: float) -> str:
    from airflow.providers.http.triggers.http import HttpEventTrigger

    trigger = HttpEventTrigger(
        response_check_path="benchmarks.http_check.batch_ended",
        http_conn_id="http_runflow_0",
        method="GET",
        endpoint=f"/v1/batches/{batch_id}",
        headers={"Authorization": f"Bearer {os.environ['RUNFLOW_BENCH_API_KEY']}"},
        poll_interval=case.interval,
    )
    try:
        async for event in trigger.run():
            return str(event.payload["status"])
    except Exception:  # too many failed polls in a row: the deferred task would fail
        return "failed"
    return "no event"


def _bare_httpx(client: Any) -> Any:
    async def poll(case: StormCase, batch_id: str, deadline: float) -> str:
        while time.time() < deadline:
            response = await client.get(f"/v1/batches/{batch_id}")
            if response.status_code == 200 and response.json()["status_code"] in TERMINAL:
                return "success"
            await asyncio.sleep(case.interval)
        return "timeout"

    return poll


async def _run(case: StormCase) -> dict[str, Any]:
    from airflow_provider_runflow.client import rate_gate

    if case.case == CASES[0]:  # each call waits out its own backoff only, as before the shared gate
        rate_gate.RateGate.turn = lambda self, delay=0.0: delay  # type: ignore[method-assign]
    deadline = time.time() + 3600
    statuses: list[str] = []
    last_event = [0.0]
    client = None
    poller = {CASES[3]: _http_event_trigger}.get(case.case, _runflow_trigger)
    if case.case == CASES[4]:
        import httpx
        from httpx_aiohttp import AiohttpTransport

        api_key, base_url = os.environ["RUNFLOW_BENCH_API_KEY"], os.environ["RUNFLOW_BENCH_URL"]
        client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, transport=AiohttpTransport()
        )
        poller = _bare_httpx(client)

    async def one(i: int, batch_id: str) -> None:
        await asyncio.sleep(case.interval * i / len(case.batch_ids))
        statuses.append(await poller(case, batch_id, deadline))
        last_event[0] = time.time()

    started = time.time()
    await asyncio.gather(*(one(i, b) for i, b in enumerate(case.batch_ids)))
    if client is not None:
        await client.aclose()
    return {
        "elapsed_s": round(time.time() - started, 2),
        "all_seen_after_end_s": round(last_event[0] - case.batches_end, 2),
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
    }


def _case_env(sh: Shards, capped: bool) -> dict[str, str]:
    env = {**sh.child_env(), "RUNFLOW_BENCH_API_KEY": sh.api_key, "RUNFLOW_BENCH_URL": sh.emulators[0].url}
    if capped:
        conn = json.loads(env["AIRFLOW_CONN_RUNFLOW_0"])
        conn["extra"] = {**conn.get("extra", {}), "max_requests_per_second": LIMIT}
        env["AIRFLOW_CONN_RUNFLOW_0"] = json.dumps(conn)
    return env


def run_storm(n: int = 1000, interval: float = 5.0, run_seconds: float = RUN_SECONDS) -> list[dict[str, Any]]:
    """One row per case: 429s, accepted polls per second, and how long after the batches' end all were seen."""
    from airflow_provider_runflow.emulator import FaultKind, FaultRule

    rows = []
    with shards(1, 0.05, run_seconds=run_seconds) as sh:
        emu = sh.emulators[0]
        for name in CASES:
            emu.clear_faults()
            ids = [batch_id for _url, batch_id, _shard in sh.create_batches(n, 1)]
            batches_end = time.time() + run_seconds  # each batch ends run_seconds after its creation, at the latest
            before = emu.counters()["requests"].get(ROUTE, {})
            emu.set_faults([FaultRule(route=ROUTE, kind=FaultKind.RATE_LIMIT, per_second=LIMIT, retry_after=1)])
            argument = json.dumps(asdict(StormCase(name, ids, interval, batches_end)))
            result = run_child("benchmarks.storm", argument, _case_env(sh, name == CASES[2]), timeout=900)
            after = emu.counters()["requests"].get(ROUTE, {})
            ok, refused = (after.get(k, 0) - before.get(k, 0) for k in ("200", "429"))
            elapsed = float(result["elapsed_s"])  # type: ignore[arg-type]
            rows.append(
                {"case": name, "n": n, "limit_per_s": LIMIT, "429s": refused, "polls_200": ok,
                 "accepted_per_s": round(ok / elapsed, 1), **result, "load_avg_1m": round(os.getloadavg()[0], 2)}
            )  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    case = StormCase(**json.loads(sys.stdin.read()))
    print("RESULT " + json.dumps(asyncio.run(_run(case))), flush=True)


if __name__ == "__main__":
    main()
