"""Heap census: the objects the garbage collector tracks per waiting trigger, by type.

    python -m benchmarks.census --n 1000    # or: python3 scripts/dev.py bench --sections census

A full collection walks every tracked object, so its pause at thousands of triggers grows with
the objects each one keeps (docs/benchmarks.md). For each peer, in a fresh child process: N
pollers of the trigger-scale section on one loop, polling every ``interval`` against the emulator
(100 ms latency); after ``settle`` seconds, ``gc.collect()`` and a count of ``gc.get_objects()``
by type, less the same count before the pollers started, divided by N. Pollers are then between
polls, as almost all of them are almost all of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmarks.deferred import deferred_trigger
from benchmarks.emulators import run_child, shards
from benchmarks.peers import PEERS, Loops, Plan, Target, _drain
from benchmarks.triggers import _preload

AS_DEFERRED = "runflow-trigger (as the operator defers it)"
PEERS_COUNTED = (AS_DEFERRED, "runflow-trigger (aiohttp transport)", "limit: bare aiohttp")

CENSUSES = 5
SHOWN = 0.2
"""Kinds of object shown: those the pollers added at least this many of per poller."""
CONTAINERS = ("list", "tuple", "dict", "Context", "cell", "method", "builtin_function_or_method", "ReferenceType")


def _kind(obj: Any, owner: Any) -> str:
    """What ``obj`` is; for a container or a bound method, also what holds it (``owner``: one referrer)."""
    kind = type(obj).__qualname__
    if kind in ("coroutine", "method", "builtin_function_or_method"):
        kind += f" {obj.__qualname__}"
    if kind in CONTAINERS:
        kind += f" <- {type(owner).__qualname__ if owner is not None else '?'}"
        if type(owner).__qualname__ == "coroutine":
            kind += f" {owner.__qualname__}"
    return kind


def _census() -> Counter[str]:
    """The tracked objects after a full collection, by kind."""
    gc.collect()
    objects = gc.get_objects()
    owners = {id(referent): obj for obj in objects for referent in gc.get_referents(obj)}
    census = Counter(_kind(obj, owners.get(id(obj))) for obj in objects)
    del objects, owners  # nothing of the census may outlive it, or the next one counts it
    return census


async def _run(peer: str, plan: Plan, settle: float) -> dict[str, Any]:
    _preload(peer)
    before = _census()
    loops, close = await (_as_deferred(plan) if peer == AS_DEFERRED else PEERS[peer](plan))
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    await asyncio.sleep(settle)
    after = _census()
    for _ in range(CENSUSES - 1):  # the fewest of each type: a poller mid-request holds dozens more for 100 ms
        await asyncio.sleep(1.0)
        after &= _census()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close()
    n = len(plan.targets)
    grown = {kind: round((after[kind] - before[kind]) / n, 2) for kind in after}
    shown = dict(sorted(((k, v) for k, v in grown.items() if v >= SHOWN), key=lambda kv: -kv[1]))
    total = (sum(after.values()) - sum(before.values())) / n
    return {"peer": peer, "n": n, "python": sys.version.split()[0], "per_trigger": round(total, 1), "by_kind": shown}


async def _as_deferred(plan: Plan) -> Loops:
    """Our trigger with the arguments the operator gives it (adaptive polling, ``carry``), on the same batches."""
    now = time.time()
    triggers = [deferred_trigger(t.batch_id, t.shard, now, 100) for t in plan.targets]

    async def close() -> None:
        return None

    return [_drain(trigger.run(), plan.delay(i)) for i, trigger in enumerate(triggers)], close


def main() -> None:
    case = json.loads(sys.stdin.read())
    plan = Plan(case["api_key"], case["interval"], tuple(Target(*t) for t in case["targets"]))
    print("RESULT " + json.dumps(asyncio.run(_run(case["peer"], plan, case["settle"]))), flush=True)


def run_census(n: int, peers: Sequence[str] = PEERS_COUNTED, interval: float = 5.0) -> list[dict[str, Any]]:
    """One census per peer, each in its own process, on the same batches."""
    results = []
    with shards(1, 0.1) as sh:
        targets = sh.create_batches(n, 100)
        for peer in peers:
            case = {"peer": peer, "api_key": sh.api_key, "interval": interval, "targets": targets}
            argument = json.dumps({**case, "settle": 2 * interval})
            results.append(run_child("benchmarks.census", argument, sh.child_env(), timeout=300, args=("--child",)))
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--peers", default=",".join(PEERS_COUNTED))
    args = parser.parse_args()
    for row in run_census(args.n, args.peers.split(",")):
        print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main() if "--child" in sys.argv else cli()
