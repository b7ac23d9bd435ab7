"""Airflow's defer race, measured: overlapping runs of many short mapped Runflow tasks on the full stack.

A deferred task whose trigger fires within seconds of deferring can be failed by the scheduler
(apache/airflow#66374, #67287, #71580, #72716): the worker's "success" for the deferring try is
processed after the resumed try was queued, and the scheduler reads it as a task killed externally.
``measure`` runs ``runflow_race`` and counts what a user would see; run by hand it prints the figures
for docs/reliability.md::

    .venv/bin/python tests/fullstack/defer_race.py --runs 3 --tasks 100 [--config KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from airflow_stack import AirflowStack

RACE_DAG_ID = "runflow_race"
MISMATCH = "but the task instance's state attribute is"
"""What the scheduler logs when Airflow's defer race fails a resumed task (apache/airflow#71580, #72716)."""


@dataclass
class RaceFigures:
    """What overlapping runs of ``runflow_race`` came to."""

    runs: int
    tasks: int
    seconds: float
    task_states: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """``run_id[map_index]`` of every task that did not succeed."""
    mismatches: int = 0
    """Scheduler log lines reporting the race (a stale "success" for a requeued task)."""
    batches_created: int = 0
    deferrals: int = 0
    """Task tries that deferred, from the task logs."""
    stale_lag: dict[str, float] = field(default_factory=dict)
    """Seconds from a task deferring to the scheduler processing that try's "success" (p50, p99, max):
    a trigger event sent sooner lets the resumed try be queued first, which the race needs."""


def measure(stack: AirflowStack, runs: int, conf: dict[str, Any], timeout: float = 1800) -> RaceFigures:
    """Start ``runs`` runs of ``runflow_race`` at once with ``conf``; wait for all; count."""
    created_before = stack.emulator_counters()["batches_created"]
    started = time.monotonic()
    run_ids = [stack.trigger_dag(RACE_DAG_ID, conf) for _ in range(runs)]
    for run_id in run_ids:
        stack.wait_for_run(RACE_DAG_ID, run_id, timeout=timeout)
    figures = RaceFigures(runs=runs, tasks=0, seconds=round(time.monotonic() - started, 1))
    for run_id in run_ids:
        path = f"/dags/{RACE_DAG_ID}/dagRuns/{run_id}/taskInstances"
        tis = stack.get(path, task_id="run", limit=1000)["task_instances"]
        for ti in tis:
            if ti["task_id"] != "run":
                continue
            figures.tasks += 1
            figures.task_states[ti["state"]] = figures.task_states.get(ti["state"], 0) + 1
            if ti["state"] != "success":
                figures.failed.append(f"{run_id}[{ti['map_index']}]")
    logs = stack.airflow_logs()
    figures.mismatches = sum(text.count(MISMATCH) for name, text in logs.items() if "/scheduler" in name)
    figures.deferrals = sum(
        text.count("Pausing task as DEFERRED") for name, text in logs.items() if f"dag_id={RACE_DAG_ID}" in name
    )
    figures.stale_lag = stale_lags(logs)
    figures.batches_created = stack.emulator_counters()["batches_created"] - created_before
    return figures


FINISHED = re.compile(r"^(\S+) .*TaskInstance Finished: dag_id=(\S+), task_id=run, run_id=(\S+), map_index=(-?\d+),")


def stale_lags(logs: dict[str, str]) -> dict[str, float]:
    """Pair each deferral of a task with the scheduler's processing of the same execution's executor event.

    A task's executions end in order, so its k-th deferral is its k-th processed executor event.
    """
    deferred: dict[tuple[str, int], list[float]] = defaultdict(list)
    processed: dict[tuple[str, int], list[float]] = defaultdict(list)
    for name, text in logs.items():
        if f"dag_id={RACE_DAG_ID}" in name and "task_id=run" in name:
            for line in text.splitlines():
                if "Pausing task as DEFERRED" in line:
                    record = json.loads(line)
                    key = (record["run_id"], _map_index(name))
                    deferred[key].append(_epoch(record["timestamp"]))
        elif "/scheduler" in name:
            for line in text.splitlines():
                if (found := FINISHED.search(line)) and found[2] == RACE_DAG_ID:
                    processed[(found[3], int(found[4]))].append(_epoch(found[1]))
    lags = [
        seen - went
        for key, times in deferred.items()
        for went, seen in zip(sorted(times), sorted(processed.get(key, [])), strict=False)
    ]
    if not lags:
        return {}
    lags.sort()
    return {
        "p50": round(statistics.median(lags), 2),
        "p99": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 2),
        "max": round(lags[-1], 2),
    }


def _map_index(log_name: str) -> int:
    found = re.search(r"map_index=(-?\d+)", log_name)
    return int(found[1]) if found else -1


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--run-seconds", type=float, default=0.5)
    parser.add_argument("--slow-every", type=int, default=10, help="every Nth task's items last --slow-seconds")
    parser.add_argument("--slow-seconds", type=float, default=12)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--config", action="append", default=[], help="extra environment, KEY=VALUE")
    parser.add_argument("--keep", action="store_true", help="keep the stack's files (every log) afterwards")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = dict(item.split("=", 1) for item in args.config)
    with AirflowStack(postgres=args.postgres, config=config, keep_root=args.keep) as stack:
        conf = {
            "tasks": args.tasks,
            "items": args.items,
            "run_seconds": args.run_seconds,
            "slow_every": args.slow_every,
            "slow_seconds": args.slow_seconds,
        }
        figures = measure(stack, args.runs, conf)
    print(json.dumps({"config": config, **asdict(figures)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
