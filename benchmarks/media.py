"""Media persistence: our copier against a bare aiohttp downloader, same emulator, same files.

python -m benchmarks.media CASE ENTRIES FOLDER   # one measured case in this (fresh) process; prints JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_runflow.client import ItemsQuery, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from benchmarks.common import MIB, rss
from benchmarks.operator_support import client_of, use_emulator, wait_event

CONCURRENCY = 8
"""Both sides download this many files at once (our default)."""
ROUNDS = 3
"""Each side copies each workload this many times; the table gives the median round."""
IN_MEMORY = "/dev/shm" if os.path.isdir("/dev/shm") else None
"""Where the copies go: tmpfs, so that the figures measure the copiers and not the state of a shared
VM's disk (blocks freed just before, being trimmed; writeback), which moved one case by up to 5x."""


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ours(entries: list[dict[str, Any]], folder: Path) -> int:
    """The provider's copier (streaming, sha256, checksum manifest, retries), as the operator runs it."""
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_runflow.media import MediaOptions
    from airflow_provider_runflow.media.copier import MediaCopier

    options = MediaOptions(concurrency=CONCURRENCY, allowed_networks=("127.0.0.1",))  # the emulator's media origin
    with MediaCopier(ObjectStoragePath(f"file://{folder}"), options) as copier:
        copied = copier.add_media(entries)
    return sum(record["bytes"] for entry in copied for record in entry["media"])


async def _bare(urls: list[str], folder: Path) -> int:
    import aiohttp

    gate, total = asyncio.Semaphore(CONCURRENCY), 0

    async def fetch(session: aiohttp.ClientSession, index: int, url: str) -> None:
        nonlocal total
        async with gate, session.get(url) as response:
            response.raise_for_status()
            with (folder / f"{index:05d}").open("wb") as out:
                async for chunk in response.content.iter_chunked(1024 * 1024):
                    out.write(chunk)
                    total += len(chunk)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(fetch(session, i, url) for i, url in enumerate(urls)))
    return total


def bare(entries: list[dict[str, Any]], folder: Path) -> int:
    """The floor: aiohttp, a semaphore, chunks written to local files; no checks, no hashing.

    On the same event loop as ours (uvloop's when installed), so the ratio compares the copiers."""
    from airflow_provider_runflow.media.copier import run_loop

    urls = [url for entry in entries for url in entry["output"].values() if str(url).startswith("http")]
    return run_loop(_bare(urls, folder))


def measure_case(case: str, entries_file: Path, folder: Path) -> dict[str, Any]:
    entries = json.loads(entries_file.read_text())
    import aiohttp  # noqa: F401 - imports are not what is measured
    from airflow.sdk import ObjectStoragePath

    import airflow_provider_runflow.media.copier  # noqa: F401

    assert ObjectStoragePath(f"file://{folder}").fs  # Airflow's filesystem registry: loaded once per worker process
    before = rss()
    started = time.perf_counter()
    copied = {"ours": ours, "bare": bare}[case](entries, folder)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "bytes": copied, "rss_growth_mib": round((_max_rss() - before) / MIB, 1)}


def _entries(emu: RunflowEmulator, model: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    use_emulator(emu)
    with client_of(emu) as client:
        ids = [
            str(client.send(calls.create_batch(model, build_batch_request(inputs[i : i + 100]))).id)
            for i in range(0, len(inputs), 100)
        ]
        wait_event(ids)
        rows = [row for batch_id in ids for row in client.send(calls.batch_items(batch_id, ItemsQuery()))]
    return [{"index": i, "status": row.status_code, "output": row.output} for i, row in enumerate(rows)]


def _warm(entries: list[dict[str, Any]]) -> None:
    """Have the emulator render every image once (it caches them), so neither side pays for rendering."""
    import httpx

    with httpx.Client() as client:
        for entry in entries:
            client.get(entry["output"]["image_url"]).raise_for_status()


def _run_case(case: str, entries: list[dict[str, Any]], tmp: Path) -> dict[str, Any]:
    """One case into a new folder, removed afterwards; with the 1-minute load average once it is done."""
    entries_file, folder = tmp / "entries.json", Path(tempfile.mkdtemp(prefix=f"{case}-", dir=tmp))
    entries_file.write_text(json.dumps(entries))
    os.sync()  # no writeback of earlier work competes with the case
    command = [sys.executable, "-m", "benchmarks.media", case, str(entries_file), str(folder)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    shutil.rmtree(folder)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])  # Airflow may log to stdout first
    return {**result, "load_avg_1m": round(os.getloadavg()[0], 2)}


def _summary(workload: str, case: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round by time, with every round's seconds and the highest peak RSS growth of all."""
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    row = {"workload": workload, "case": case, **median, "rounds_seconds": [run["seconds"] for run in runs]}
    row["rounds_load_avg_1m"] = [run["load_avg_1m"] for run in runs]
    row["rss_growth_mib"] = max(run["rss_growth_mib"] for run in runs)
    row["mib_per_s"] = round(row["bytes"] / MIB / row["seconds"], 1)
    return row


def run_media(images: int = 1000, videos: int = 20, video_mib: int = 50, rounds: int = ROUNDS) -> list[dict[str, Any]]:
    """Each workload copied by each side in a fresh process, ``rounds`` times in alternating order, from one
    emulator: the machine is shared, so one round can land on a busy moment for either side."""
    rows = []
    with (
        RunflowEmulator(time_scale=0.01, media_video_bytes=video_mib * MIB) as emu,
        tempfile.TemporaryDirectory(dir=IN_MEMORY) as tmp,
    ):
        workloads = {
            f"{images:,} images (256x256 PNG)": _entries(
                emu, "acme/image-gen", [{"prompt": f"p{i}", "width": 256, "height": 256} for i in range(images)]
            ),
            f"{videos} videos x {video_mib} MiB": _entries(
                emu, "acme/video/gen-v2", [{"prompt": f"v{i}"} for i in range(videos)]
            ),
        }
        _warm(next(iter(workloads.values())))
        for workload, entries in workloads.items():
            runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
            for round_ in range(rounds):
                for case in ("bare", "ours") if round_ % 2 == 0 else ("ours", "bare"):
                    runs[case].append(_run_case(case, entries, Path(tmp)))
                    print(json.dumps({"workload": workload, "case": case, **runs[case][-1]}), flush=True)
            rows += [_summary(workload, case, case_runs) for case, case_runs in runs.items()]
    return rows


if __name__ == "__main__":
    print(json.dumps(measure_case(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
