"""Copying the media of result entries into one task's folder, a bounded number at a time."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from airflow_provider_runflow.media.addresses import AddressPolicy, configured_networks
from airflow_provider_runflow.media.fetch import (
    ExpiredMediaError,
    MediaError,
    MediaSession,
    Stored,
    copy_with_retries,
    media_session,
    on_io,
    shown,
)
from airflow_provider_runflow.media.folder import Folder
from airflow_provider_runflow.media.manifest import Manifest
from airflow_provider_runflow.media.options import MediaOptions, failed_items
from airflow_provider_runflow.media.plan import FileJob, file_jobs, with_media
from airflow_provider_runflow.media.refresh import FreshUrls
from airflow_provider_runflow.media.stored import Listed, already_stored, listed_files

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a new event loop: uvloop's when installed (Airflow's own dependencies bring it
    on Linux and macOS), whose loop cost about 15% less per small file than asyncio's; else asyncio's."""
    try:
        import uvloop
    except ImportError:  # uvloop builds on neither Windows nor PyPy
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def stored_record(source_url: str, stored: Stored) -> dict[str, Any]:
    return {
        "source_url": source_url,
        "path": stored.path,
        "content_type": stored.content_type,
        "bytes": stored.bytes,
        "sha256": stored.sha256,
    }


def error_record(source_url: str, error: str) -> dict[str, Any]:
    return {"source_url": source_url, "path": None, "error": error}


class MediaCopier:
    """Copies every media URL of succeeded entries into ``folder``; use as a context manager.

    Files an earlier try stored (listed in the folder's manifest, checksum intact) are reused
    without a request; an expired URL is swapped for a fresh one from ``refresher``; any failure
    becomes an ``error`` record. Downloads run on an event loop of their own thread, whatever the
    caller's thread runs. Only public addresses and ``options.allowed_networks`` (by default
    ``[runflow] media_allowed_networks``) are fetched from.
    """

    def __init__(self, folder: Any, options: MediaOptions, refresher: FreshUrls | None = None) -> None:
        self.folder, self.options, self.refresher = Folder.of(folder), options, refresher
        allowed = options.allowed_networks
        self.addresses = AddressPolicy.parse(configured_networks() if allowed is None else allowed)
        self.io = ThreadPoolExecutor(options.concurrency, thread_name_prefix="runflow-media-io")
        self.loop = ThreadPoolExecutor(1, thread_name_prefix="runflow-media")
        self.earlier: dict[str, Listed] | None = None
        self.manifest = Manifest(uuid.uuid4().hex[:8])
        self.failed: list[str] = []
        """One line per item whose media could not be copied (see ``options.failed_items``)."""
        self.stored_files = self.stored_bytes = self.failed_files = 0

    def __enter__(self) -> MediaCopier:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.loop.shutdown(wait=True, cancel_futures=True)
        self.io.shutdown(wait=True, cancel_futures=True)
        if self.stored_files or self.failed_files:
            log.info(
                "Media in all: %d file(s), %d bytes in %s; %d failed",
                self.stored_files,
                self.stored_bytes,
                self.folder.uri,
                self.failed_files,
            )

    def add_media(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``entries`` with ``media`` records; ``options.concurrency`` downloads run at a time."""
        jobs = file_jobs(entries, self.options.select)
        if not jobs:
            return with_media(entries, jobs, [])
        if self.earlier is None:
            if self.folder.local:
                self.folder.fs.makedirs(self.folder.path, exist_ok=True)
            self.earlier = listed_files(self.folder)
        records = self.loop.submit(run_loop, self._copy_all(jobs)).result()
        failed = sum(1 for record in records if record.get("error"))
        total = sum(record.get("bytes") or 0 for record in records)
        self.stored_files, self.stored_bytes = self.stored_files + len(jobs) - failed, self.stored_bytes + total
        self.failed_files += failed
        log.info(
            "Media: %d file(s), %d bytes; %d failed (so far %d file(s), %d failed)",
            len(jobs) - failed,
            total,
            failed,
            self.stored_files,
            self.failed_files,
        )
        entries = with_media(entries, jobs, records)
        self.failed.extend(failed_items(entries))
        return entries

    async def _copy_all(self, jobs: list[FileJob]) -> list[dict[str, Any]]:
        # The session's pool holds ``concurrency`` connections, so that many files download at once;
        # a file frees its connection once its body is in, and as many again may be finishing
        # their writes meanwhile: storage latency (an S3 PUT) overlaps the next downloads.
        gate = asyncio.Semaphore(2 * self.options.concurrency)
        try:
            async with media_session(self.options, self.addresses) as session:
                return list(await asyncio.gather(*(self._copy(session, gate, job) for job in jobs)))
        finally:
            await self._write_part(self.manifest.take())

    async def _copy(self, session: MediaSession, gate: asyncio.Semaphore, job: FileJob) -> dict[str, Any]:
        async with gate:
            try:
                earlier = (self.earlier or {}).get(job.stem)
                found = await on_io(self.io, already_stored, self.folder, earlier) if earlier else None
                if found is not None:
                    return stored_record(job.url, found)
                stored = await self._download(session, job)
            except MediaError as err:
                return error_record(job.url, str(err))
            except Exception as err:  # storage or Runflow trouble for this file must not lose the other results
                return error_record(job.url, f"{shown(job.url)}: {type(err).__name__}: {err}")
        await self._write_part(self.manifest.add(stored.name, stored.sha256, time.monotonic()))
        return stored_record(job.url, stored)

    async def _write_part(self, part: tuple[str, bytes] | None) -> None:
        """Write a manifest part; if storage refuses it, its files stay stored (a retry copies them again)."""
        if part is None:
            return
        try:
            await on_io(self.io, self.folder.write, *part)
        except Exception as err:  # the copies it lists are complete and their records true
            log.warning("Media: checksum manifest %s not written (%s: %s)", part[0], type(err).__name__, err)

    async def _download(self, session: MediaSession, job: FileJob) -> Stored:
        """The file of ``job``, within ``options.file_timeout`` for all its attempts and fresh URLs."""
        try:
            async with asyncio.timeout(self.options.file_timeout):
                return await self._download_refreshing(session, job)
        except TimeoutError:  # aiohttp's own timeouts became TransientMediaError: this is the file's deadline
            raise MediaError(
                f"{shown(job.url)}: not complete after {self.options.file_timeout:.0f} s in all "
                "(media file_timeout); not kept"
            ) from None

    async def _download_refreshing(self, session: MediaSession, job: FileJob) -> Stored:
        url, read_at, refreshes = job.url, 0.0, 0
        while True:
            try:
                stored = await copy_with_retries(session, url, self.folder, job.stem, self.options, self.io)
                break
            except ExpiredMediaError:
                can_refresh = self.refresher is not None and refreshes < self.options.refreshes
                fresh = (
                    await on_io(self.io, self.refresher.url, job, read_at) if self.refresher and can_refresh else None
                )
                if fresh is None:
                    raise
                log.info("Media of item %d: URL refused or expired, retrying with a fresh one", job.index)
                (url, read_at), refreshes = fresh, refreshes + 1
        return stored
