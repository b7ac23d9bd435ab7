"""Fresh presigned URLs for an item whose URL expired: its batch's items are read again from Runflow."""

from __future__ import annotations

import threading
import time
from typing import Any

from airflow_provider_runflow.client import ItemsQuery, RunflowClient, calls
from airflow_provider_runflow.media.plan import FileJob
from airflow_provider_runflow.media.select import MediaSelector, media_urls


class FreshUrls:
    """Re-reads a batch's items (``run_id`` and ``output`` only) at most once per expiry wave.

    A read made after the refused URL was obtained already holds a fresher one, so the many
    items of a batch whose URLs lapsed together cost one items read, not one each.
    """

    def __init__(self, client: RunflowClient, select: MediaSelector) -> None:
        self.client, self.select = client, select
        self._outputs: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def url(self, job: FileJob, newer_than: float) -> tuple[str, float] | None:
        """A URL of ``job`` read after ``newer_than`` (wall clock; 0 for the entry's own URL) and when it
        was read, or None if Runflow has none for it."""
        if not job.batch_id or not job.run_id:
            return None
        with self._lock:
            read_at, outputs = self._outputs.get(job.batch_id, (0.0, {}))
            if read_at <= newer_than:
                read_at, outputs = time.time(), self._read(job.batch_id)
                self._outputs[job.batch_id] = (read_at, outputs)
        urls = media_urls(outputs.get(job.run_id), self.select)
        return (urls[job.k], read_at) if job.k < len(urls) and len(urls) == job.count else None

    def _read(self, batch_id: str) -> dict[str, Any]:
        rows = self.client.send(calls.batch_items(batch_id, ItemsQuery(fields="run_id,output")))
        return {row.run_id: row.output for row in rows if row.run_id}
