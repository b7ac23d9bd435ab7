"""Which files to copy for a list of result entries, and how their records go back into the entries (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_runflow.media.layout import file_stem
from airflow_provider_runflow.media.select import MediaSelector, media_urls


@dataclass(frozen=True)
class FileJob:
    """One media URL of one result entry: ``k``-th of the entry's ``count`` URLs."""

    position: int
    index: int
    k: int
    count: int
    url: str
    batch_id: str | None
    run_id: str | None

    @property
    def stem(self) -> str:
        return file_stem(self.index, self.k, self.count)


def file_jobs(entries: list[dict[str, Any]], select: MediaSelector) -> list[FileJob]:
    """A job per media URL of every succeeded entry, in entry order; the file name comes from ``index``."""
    jobs = []
    for position, entry in enumerate(entries):
        if entry.get("status") != "succeeded":
            continue
        index = entry.get("index")
        if type(index) is not int or index < 0:
            raise ValueError(f"result entry {position} has no valid 'index' (got {index!r}): cannot name its media")
        urls = media_urls(entry.get("output"), select)
        for k, url in enumerate(urls):
            jobs.append(FileJob(position, index, k, len(urls), url, entry.get("batch_id"), entry.get("run_id")))
    return jobs


def with_media(entries: list[dict[str, Any]], jobs: list[FileJob], records: list[dict[str, Any]]) -> list[Any]:
    """Copies of ``entries``, each with ``media``: its records in URL order (an empty list when it has none)."""
    media: list[list[dict[str, Any]]] = [[] for _ in entries]
    for job, record in zip(jobs, records, strict=True):
        media[job.position].append(record)
    return [{**entry, "media": found} for entry, found in zip(entries, media, strict=True)]
