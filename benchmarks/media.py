"""Media persistence: our copier beside peers doing the same work and beside what users write today, from a
loopback origin and over a modelled link (latency and a bandwidth cap), in one run.

python -m benchmarks.media CASE ENTRIES FOLDER CONCURRENCY   # one measured case in this (fresh) process; prints JSON
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_runflow.client import ItemsQuery, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.media.options import DEFAULT_CONCURRENCY
from benchmarks.common import MIB, rss
from benchmarks.emulators import ROOT
from benchmarks.operator_support import client_of, use_emulator, wait_event

ROUNDS = 3
"""Each case copies each workload this many times, in alternating order; the tables give the median round."""
CHUNK = 1024 * 1024
IN_MEMORY = "/dev/shm" if os.path.isdir("/dev/shm") else None
"""Where the copies go: tmpfs, so that the figures measure the copiers and not the state of a shared
VM's disk (blocks freed just before, being trimmed; writeback), which moved one case by up to 5x."""
CASES = ("ours", "same work", "requests", "requests, threads")
"""In the tables' order: ours, the peer doing the same work, and the two loops users write in a ``@task``."""


@dataclass(frozen=True)
class Link:
    """The network between the worker and the media host, as :mod:`benchmarks.media_link` models it."""

    name: str
    latency: float
    bandwidth: float
    """Bytes a second, shared by every download; 0: no cap."""

    def limit(self, files: int, size: int, concurrency: int) -> float | None:
        """The least time any copier needs over this link: latency per file at ``concurrency`` files at once,
        or the bytes through the bandwidth, whichever is longer; None on loopback (no limit but the copier)."""
        if not (self.latency or self.bandwidth):
            return None
        return max(files * self.latency / concurrency, size / self.bandwidth if self.bandwidth else 0.0)


LOOPBACK = Link("loopback", 0.0, 0.0)
REALISTIC = Link("30 ms, 200 MiB/s", 0.030, 200 * MIB)


STATUS = Path("/proc/self/status")


def _reset_peak() -> None:
    """Start the peak RSS afresh (Linux: ``5`` to ``clear_refs``); elsewhere it stays the process's peak."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss() -> int:
    """Peak RSS since :func:`_reset_peak`: ``VmHWM``, not ``ru_maxrss``, which Linux keeps across ``exec`` (a
    child of the benchmark's parent would report the parent's peak)."""
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _urls(entries: list[dict[str, Any]]) -> list[str]:
    return [url for entry in entries for url in entry["output"].values() if str(url).startswith("http")]


def ours(entries: list[dict[str, Any]], folder: str, concurrency: int) -> int:
    """The provider's copier (Content-Type check, SHA-256, checksum manifest, retries), as the operator runs it."""
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_runflow.media import MediaOptions
    from airflow_provider_runflow.media.copier import MediaCopier

    options = MediaOptions(concurrency=concurrency, allowed_networks=("127.0.0.1",))  # the benchmark's origin
    with MediaCopier(ObjectStoragePath(folder), options) as copier:
        copied = copier.add_media(entries)
    return sum(record["bytes"] for entry in copied for record in entry["media"])


async def _same_work(urls: list[str], folder: str, concurrency: int) -> int:
    import aiohttp
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(folder)
    fs, base = target.fs, str(target.path).rstrip("/")
    gate, total = asyncio.Semaphore(concurrency), 0

    async def fetch(session: aiohttp.ClientSession, index: int, url: str) -> str:
        nonlocal total
        digest = hashlib.sha256()
        async with gate, session.get(url) as response:
            response.raise_for_status()
            with fs.open(f"{base}/{index:05d}", "wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    total += len(chunk)
        return digest.hexdigest()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(fetch(session, i, url) for i, url in enumerate(urls)))
    return total


def same_work(entries: list[dict[str, Any]], folder: str, concurrency: int) -> int:
    """The peer doing the same work: aiohttp, ``concurrency`` files at once, SHA-256 of every byte, each file
    written chunk by chunk through the same fsspec filesystem, on the loop; on the same event loop as ours."""
    from airflow_provider_runflow.media.copier import run_loop

    return run_loop(_same_work(_urls(entries), folder, concurrency))


def _requests_copy(folder: Any, index: int, url: str) -> int:
    import requests

    response = requests.get(url, timeout=60)
    response.raise_for_status()
    (folder / f"{index:05d}").write_bytes(response.content)
    return len(response.content)


def requests_loop(entries: list[dict[str, Any]], folder: str, concurrency: int) -> int:
    """What a ``@task`` does today: ``requests.get`` each URL, ``ObjectStoragePath.write_bytes`` its body."""
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(folder)
    return sum(_requests_copy(target, i, url) for i, url in enumerate(_urls(entries)))


def requests_threads(entries: list[dict[str, Any]], folder: str, concurrency: int) -> int:
    """The same loop in a thread pool of ``concurrency`` threads."""
    from airflow.sdk import ObjectStoragePath

    target, urls = ObjectStoragePath(folder), _urls(entries)
    with ThreadPoolExecutor(concurrency) as pool:
        return sum(pool.map(_requests_copy, [target] * len(urls), range(len(urls)), urls))


COPIERS: dict[str, Callable[[list[dict[str, Any]], str, int], int]] = {
    "ours": ours,
    "same work": same_work,
    "requests": requests_loop,
    "requests, threads": requests_threads,
}


def measure_case(case: str, entries_file: Path, folder: str, concurrency: int) -> dict[str, Any]:
    entries = json.loads(entries_file.read_text())
    import aiohttp  # noqa: F401 - imports are not what is measured
    import requests  # noqa: F401
    from airflow.sdk import ObjectStoragePath

    import airflow_provider_runflow.media.copier  # noqa: F401

    assert ObjectStoragePath(folder).fs  # Airflow's filesystem registry: loaded once per worker process
    before = rss()
    _reset_peak()
    started = time.perf_counter()
    copied = COPIERS[case](entries, folder, concurrency)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "bytes": copied, "rss_growth_mib": round((_peak_rss() - before) / MIB, 1)}


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


def _rehosted(entries: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """``entries`` with every media URL pointing at ``origin`` (path and query kept)."""

    def moved(url: Any) -> Any:
        if not str(url).startswith("http"):
            return url
        parts = urlsplit(url)
        return f"{origin}{parts.path}?{parts.query}"

    return [{**entry, "output": {k: moved(v) for k, v in entry["output"].items()}} for entry in entries]


@contextmanager
def link_origin(link: Link) -> Iterator[str]:
    """:mod:`benchmarks.media_link` in its own process (the copiers' CPU is not shared with it), its base URL."""
    command = [sys.executable, "-m", "benchmarks.media_link", str(link.latency), str(link.bandwidth)]
    origin = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert origin.stdout is not None
        yield f"http://127.0.0.1:{origin.stdout.readline().split()[1]}"
    finally:
        origin.terminate()
        origin.wait()


def _warm(entries: list[dict[str, Any]]) -> None:
    """Have the origin render every image once (it keeps them), so no copier pays for rendering."""
    import httpx

    with httpx.Client() as client, ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda url: client.get(url).raise_for_status(), _urls(entries)))


class Tmpfs:
    """Local files in memory: a new folder per case, removed after it."""

    name = "local (tmpfs)"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def folder(self) -> str:
        return f"file://{tempfile.mkdtemp(prefix='copy-', dir=self.tmp)}"

    def clear(self, folder: str) -> None:
        shutil.rmtree(folder.removeprefix("file://"))


class MotoS3:
    """S3's API from moto's server (its own process): a new prefix per case, the server emptied after it."""

    name = "S3 (moto)"
    bucket = "runflow-bench"

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint, self.client = endpoint, boto3.client("s3", endpoint_url=endpoint)
        self.clear("")

    def folder(self) -> str:
        return f"s3://{self.bucket}/copy-{uuid.uuid4().hex[:8]}"

    def clear(self, folder: str) -> None:
        """Everything moto holds dropped (its reset route), the bucket made again: memory stays flat."""
        import httpx

        httpx.post(f"{self.endpoint}/moto-api/reset").raise_for_status()
        self.client.create_bucket(Bucket=self.bucket)


@contextmanager
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server on a free loopback port; the copiers' processes reach it through ``AWS_*`` variables."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    variables = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    variables["AWS_ENDPOINT_URL"] = endpoint = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        for _ in range(100):
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield MotoS3(endpoint)
    finally:
        server.terminate()
        server.wait()
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


Storage = Tmpfs | MotoS3


@dataclass(frozen=True)
class Case:
    link: Link
    storage: Storage
    workload: str
    case: str
    concurrency: int


def _run_case(case: Case, entries: list[dict[str, Any]], tmp: Path) -> dict[str, Any]:
    """One case into a new folder, removed afterwards; with the 1-minute load average once it is done."""
    entries_file, folder = tmp / "entries.json", case.storage.folder()
    entries_file.write_text(json.dumps(entries))
    os.sync()  # no writeback of earlier work competes with the case
    command = [sys.executable, "-m", "benchmarks.media", case.case, str(entries_file), folder, str(case.concurrency)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    case.storage.clear(folder)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])  # Airflow may log to stdout first
    return {**result, "load_avg_1m": round(os.getloadavg()[0], 2)}


def _summary(case: Case, entries: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round by time, every round's seconds, the highest peak RSS growth, and the link's limit."""
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    row: dict[str, Any] = {"link": case.link.name, "storage": case.storage.name, "workload": case.workload}
    row["case"] = case.case
    row["concurrency"] = case.concurrency
    row |= {**median, "rounds_seconds": [run["seconds"] for run in runs]}
    row["rss_growth_mib"] = max(run["rss_growth_mib"] for run in runs)
    row["mib_per_s"] = round(row["bytes"] / MIB / row["seconds"], 1)
    row["limit_s"] = case.link.limit(len(_urls(entries)), row["bytes"], case.concurrency)
    return row


def _rounds(cases: list[Case], entries: list[dict[str, Any]], tmp: Path, rounds: int) -> list[dict[str, Any]]:
    """Every case ``rounds`` times, the order reversed every other round: the machine is shared, so one round
    can land on a busy moment for any of them."""
    runs: dict[Case, list[dict[str, Any]]] = {case: [] for case in cases}
    for round_ in range(rounds):
        for case in cases if round_ % 2 == 0 else cases[::-1]:
            runs[case].append(_run_case(case, entries, tmp))
            named = {"link": case.link.name, "storage": case.storage.name, "workload": case.workload, "case": case.case}
            print(json.dumps({**named, "concurrency": case.concurrency, **runs[case][-1]}), flush=True)
    return [_summary(case, entries, case_runs) for case, case_runs in runs.items()]


@dataclass(frozen=True)
class MediaSettings:
    images: int = 1000
    videos: int = 20
    video_mib: int = 50
    rounds: int = ROUNDS
    links: tuple[Link, ...] = (LOOPBACK, REALISTIC)
    sweep: tuple[int, ...] = (16, 32, 64)
    """Concurrencies ours also runs at over the modelled link (the default's row is the main table's)."""
    s3: bool = True
    """Ours and the same-work peer also write to S3 (moto), from the loopback origin."""


SMOKE = MediaSettings(images=20, videos=0, rounds=1, links=(REALISTIC,), sweep=(), s3=False)
"""CI's size: every copier once, over the link, in four processes; figures not asserted."""


def run_media(settings: MediaSettings = MediaSettings()) -> dict[str, Any]:
    """Each workload copied by every case in a fresh process from one origin per link, then ours at other
    concurrencies over the modelled link."""
    rows, sweep = [], []
    with RunflowEmulator(time_scale=0.01, media_video_bytes=settings.video_mib * MIB) as emu:
        images = [{"prompt": f"p{i}", "width": 256, "height": 256} for i in range(settings.images)]
        videos = [{"prompt": f"v{i}"} for i in range(settings.videos)]
        models: dict[str, tuple[str, list[dict[str, Any]]]] = {
            f"{settings.images:,} images (256x256 PNG)": ("acme/image-gen", images),
            f"{settings.videos} videos x {settings.video_mib} MiB": ("acme/video/gen-v2", videos),
        }
        workloads = {name: _entries(emu, model, inputs) for name, (model, inputs) in models.items() if inputs}
    with tempfile.TemporaryDirectory(dir=IN_MEMORY) as tmp:
        local = Tmpfs(Path(tmp))
        for link in settings.links:
            with link_origin(link) as origin:
                for workload, emulated in workloads.items():
                    entries = _rehosted(emulated, origin)
                    _warm(entries)
                    cases = [Case(link, local, workload, case, DEFAULT_CONCURRENCY) for case in CASES]
                    rows += _rounds(cases, entries, Path(tmp), settings.rounds)
                    if link is REALISTIC and settings.sweep:
                        cases = [Case(link, local, workload, "ours", c) for c in settings.sweep]
                        sweep += _rounds(cases, entries, Path(tmp), settings.rounds)
        if settings.s3:
            with link_origin(LOOPBACK) as origin, moto_s3() as s3:
                for workload, emulated in workloads.items():
                    entries = _rehosted(emulated, origin)
                    _warm(entries)
                    cases = [Case(LOOPBACK, s3, workload, case, DEFAULT_CONCURRENCY) for case in CASES[:2]]
                    rows += _rounds(cases, entries, Path(tmp), settings.rounds)
    return {"settings": {**asdict(settings), "links": [asdict(link) for link in settings.links]}, "rows": rows,
            "sweep": sweep}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure_case(sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
