"""Measurement helpers shared by the benchmark sections: machine facts, loop lag, percentiles, memory."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024
# The benchmark sections: key in results/latest.json and ``--sections``, and heading in docs/benchmarks.md.
SECTIONS = {
    "scale": "Trigger scale",
    "economy": "Request economy",
    "collection": "Result collection",
    "media": "Media persistence",
    "outputs_page": "Runflow outputs page",
    "pacing": "Adaptive polling",
    "storm": "429 storm",
    "budget": "Spend guard",
    "capacity": "Triggerer capacity",
    "census": "Heap census",
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def cpu_seconds() -> float:
    """User plus system CPU time of this process, all threads included."""
    return time.process_time()


@dataclass
class FullCollections:
    """The garbage collector's full (oldest-generation) collections while ``recording``: count and pauses.

    A full collection walks every tracked object of the process and stops the loop meanwhile,
    so its pauses are what long loop lags are made of at thousands of triggers."""

    recording: bool = False
    pauses: list[float] = field(default_factory=list)
    young: int = 0
    """Collections of the younger generations while ``recording``: how fast the process allocates."""
    _started: float = 0.0

    def __post_init__(self) -> None:
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            self.young += self.recording and phase == "start"
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self.recording:
            self.pauses.append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, float]:
        return {
            "full_gcs": len(self.pauses),
            "full_gc_ms_max": max(self.pauses, default=0.0) * 1000,
            "full_gc_ms_total": sum(self.pauses) * 1000,
            "young_gcs": self.young,
        }


@dataclass
class LoopLag:
    """A heartbeat task: how late the event loop wakes it, every ``period`` seconds, while ``recording``."""

    period: float = 0.05
    recording: bool = False
    lags: list[float] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    """When each lag was measured (epoch seconds)."""

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            if self.recording:
                self.lags.append(max(0.0, loop.time() - expected))
                self.at.append(time.time())

    def timeline(self) -> list[tuple[float, float]]:
        """The longest lag of each second (epoch second, milliseconds), for plots."""
        worst: dict[int, float] = {}
        for at, lag in zip(self.at, self.lags, strict=True):
            worst[int(at)] = max(worst.get(int(at), 0.0), lag)
        return [(float(second), round(lag * 1000, 1)) for second, lag in sorted(worst.items())]

    def summary(self) -> dict[str, float]:
        """p50, p99 and max lag in milliseconds."""
        return {
            "lag_p50_ms": percentile(self.lags, 0.5) * 1000,
            "lag_p99_ms": percentile(self.lags, 0.99) * 1000,
            "lag_max_ms": max(self.lags, default=0.0) * 1000,
        }
