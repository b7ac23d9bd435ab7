"""Trigger scale, orchestration: emulator shards, batches, and one child process per (peer, N)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.emulators import run_child, shards
from benchmarks.peers import PEERS
from benchmarks.triggers import Case, case_json

CAPS = {"sync client on the loop": 100, "httpx client per trigger": 1000}
"""Peers that cannot keep up are stopped at this N: past it they only block the run."""


@dataclass(frozen=True)
class ScaleSettings:
    sizes: tuple[int, ...]
    peers: tuple[str, ...]
    interval: float = 5.0
    latency: float = 0.1
    warmup: float = 5.0
    window: float = 30.0
    items: int = 100
    emulators: int = 1


def run_scale(settings: ScaleSettings, log: Any = print) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with shards(settings.emulators, settings.latency) as sh:
        targets = sh.create_batches(max(settings.sizes), settings.items)
        for n in settings.sizes:
            for peer in settings.peers:
                if n > CAPS.get(peer, n):
                    continue
                case = Case(
                    peer, n, sh.api_key, settings.interval, settings.latency, settings.warmup, settings.window,
                    targets[:n], sh.pids,
                )  # fmt: skip
                timeout = settings.warmup + settings.window + 180
                try:
                    result = run_child("benchmarks.triggers", case_json(case), sh.child_env(), timeout)
                except Exception as err:  # one failed peer must not lose the others' figures
                    result = {"peer": peer, "n": n, "failed": str(err)[-300:]}
                log(result)
                results.append(result)
    return results


ALL_PEERS = tuple(PEERS)
