"""Throughput of ``GET /v1/batches/{id}`` against a :class:`RunflowEmulator` in its own process.

    python -m benchmarks.emulator_load --seconds 10 --concurrency 64 --client raw   # from the repository root

Load comes from ``--workers`` processes, each running ``--concurrency`` pollers over keep-alive
connections, cycling through ``--batches`` batches of 10 items. ``--client httpx`` polls with
``httpx.AsyncClient`` (what the provider uses; it tops out near 1,000 req/s per core, so it
measures the client); ``--client raw`` writes HTTP/1.1 on asyncio streams and measures the server.
It also prints the emulator process's CPU time per request served, which moves less than the
rate when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
import psutil

from airflow_provider_runflow.emulator.process import RunflowEmulator

Job = tuple[str, str, str, list[str], float, int]
Poll = Callable[[str], Awaitable[bool]]


async def _httpx_pollers(url: str, key: str, count: int) -> tuple[list[Poll], Callable[[], Awaitable[None]]]:
    """One ``Poll`` per poller, four pollers per client (httpx's async pool slows down beyond that)."""
    clients = [httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) for _ in range(count)]

    def poll_with(client: httpx.AsyncClient) -> Poll:
        async def poll(path: str) -> bool:
            return (await client.get(path)).status_code == 200

        return poll

    async def close() -> None:
        await asyncio.gather(*(client.aclose() for client in clients))

    return [poll_with(clients[i // 4]) for i in range(count)], close


async def _raw_pollers(url: str, key: str, count: int) -> tuple[list[Poll], Callable[[], Awaitable[None]]]:
    """One keep-alive connection per poller, speaking just enough HTTP/1.1 to read a sized response."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    streams = [await asyncio.open_connection(host, int(port)) for _ in range(count)]

    def poll_with(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Poll:
        async def poll(path: str) -> bool:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            return head.startswith(b"HTTP/1.1 200")

        return poll

    async def close() -> None:
        for _, writer in streams:
            writer.close()

    return [poll_with(reader, writer) for reader, writer in streams], close


async def _run(job: Job) -> tuple[int, int, float]:
    client, url, key, batch_ids, seconds, concurrency = job
    make = _raw_pollers if client == "raw" else _httpx_pollers
    pollers, close = await make(url, key, concurrency)
    counts = [0, 0]
    started = time.monotonic()
    deadline = started + seconds

    async def run(poll: Poll, offset: int) -> None:
        n = offset
        while time.monotonic() < deadline:
            counts[not await poll(f"/v1/batches/{batch_ids[n % len(batch_ids)]}")] += 1
            n += 1

    await asyncio.gather(*(run(poll, i) for i, poll in enumerate(pollers)))
    elapsed = time.monotonic() - started
    await close()
    return counts[0], counts[1], elapsed


def _worker(job: Job) -> tuple[int, int, float]:
    return asyncio.run(_run(job))


def _create_batches(url: str, key: str, count: int) -> list[str]:
    body = {"input": [{"text": f"item {i}"} for i in range(10)]}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        return [client.post("/v1/models/acme/test-model/batches", json=body).json()["id"] for _ in range(count)]


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=64, help="pollers per worker process")
    p.add_argument("--workers", type=int, default=1, help="load-generating processes")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--client", choices=("raw", "httpx"), default="raw")
    p.add_argument("--latency", type=float, default=0.0, help="emulated API latency in seconds")
    args = p.parse_args(argv)
    before = {child.pid for child in psutil.Process().children()}
    with RunflowEmulator(run_seconds=3600.0, latency=args.latency) as emu:
        (server,) = [child for child in psutil.Process().children() if child.pid not in before]
        batch_ids = _create_batches(emu.url, emu.api_key, args.batches)
        job: Job = (args.client, emu.url, emu.api_key, batch_ids, args.seconds, args.concurrency)
        cpu_before = _cpu_seconds(server)
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            results = pool.map(_worker, [job] * args.workers)
        cpu = _cpu_seconds(server) - cpu_before
        served = emu.counters()["requests"].get("GET /v1/batches/{id}", {})
    rate = sum(ok / elapsed for ok, _, elapsed in results)
    ok, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    print(f"GET /v1/batches/{{id}}: {rate:,.0f} req/s ({ok} ok, {errors} errors)")
    print(f"client={args.client} workers={args.workers} concurrency={args.concurrency} latency={args.latency}")
    print(f"cpus={os.cpu_count()}; server counted {served}; server CPU {cpu / max(ok, 1) * 1e6:.1f} us per request")


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


if __name__ == "__main__":
    main()
