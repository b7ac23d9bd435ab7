"""Copying the media of result entries into one task's folder, a bounded number at a time."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from airflow_provider_runflow.media.fetch import (
    ExpiredMediaError,
    MediaError,
    Stored,
    copy_with_retries,
    media_client,
    shown,
)
from airflow_provider_runflow.media.folder import Folder
from airflow_provider_runflow.media.options import MediaOptions
from airflow_provider_runflow.media.plan import FileJob, file_jobs, with_media
from airflow_provider_runflow.media.refresh import FreshUrls
from airflow_provider_runflow.media.stored import already_stored, complete_files, write_sidecar

log = logging.getLogger(__name__)


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

    Files an earlier try stored (checksum intact) are reused without a request; an expired URL
    is swapped for a fresh one from ``refresher``; any failure becomes an ``error`` record.
    """

    def __init__(self, folder: Any, options: MediaOptions, refresher: FreshUrls | None = None) -> None:
        self.folder, self.options, self.refresher = Folder.of(folder), options, refresher
        self.http = media_client(options)
        self.pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="runflow-media")
        self.complete: dict[str, str] | None = None

    def __enter__(self) -> MediaCopier:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()

    def add_media(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``entries`` with ``media`` records; copies run ``options.concurrency`` at a time."""
        jobs = file_jobs(entries, self.options.select)
        if jobs and self.complete is None:
            if self.folder.local:
                self.folder.fs.makedirs(self.folder.path, exist_ok=True)
            self.complete = complete_files(self.folder.names())
        records = list(self.pool.map(self._copy, jobs))
        failed = sum(1 for record in records if record.get("error"))
        if jobs:
            total = sum(record.get("bytes") or 0 for record in records)
            log.info("Media: %d file(s), %d bytes in %s; %d failed", len(jobs) - failed, total, self.folder.uri, failed)
        return with_media(entries, jobs, records)

    def _copy(self, job: FileJob) -> dict[str, Any]:
        try:
            earlier = (self.complete or {}).get(job.stem)
            found = already_stored(self.folder, earlier) if earlier else None
            if found is not None:
                return stored_record(job.url, found)
            return self._download(job)
        except MediaError as err:
            return error_record(job.url, str(err))
        except Exception as err:  # storage or Runflow trouble for this file must not lose the other results
            return error_record(job.url, f"{shown(job.url)}: {type(err).__name__}: {err}")

    def _download(self, job: FileJob) -> dict[str, Any]:
        url, read_at, refreshes = job.url, 0.0, 0
        while True:
            try:
                stored = copy_with_retries(self.http, url, self.folder, job.stem, self.options)
                break
            except ExpiredMediaError:
                can_refresh = self.refresher is not None and refreshes < self.options.refreshes
                fresh = self.refresher.url(job, read_at) if self.refresher and can_refresh else None
                if fresh is None:
                    raise
                log.info("Media of item %d: URL refused or expired, retrying with a fresh one", job.index)
                (url, read_at), refreshes = fresh, refreshes + 1
        write_sidecar(self.folder, stored.path.rsplit("/", 1)[-1], stored.sha256)
        return stored_record(job.url, stored)
