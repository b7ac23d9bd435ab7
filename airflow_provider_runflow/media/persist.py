"""Persisting the media of result entries from Airflow: the operator's step and a public function."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_runflow.client import RunflowClient
from airflow_provider_runflow.media.copier import MediaCopier
from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.media.options import MediaOptions, RunflowMediaError, failure_message
from airflow_provider_runflow.media.refresh import FreshUrls

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

log = logging.getLogger(__name__)


def scope_of(context: Context) -> MediaScope:
    """The layout folders of the running task instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", None)
    return MediaScope(ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))


def open_copier(media_path: str, context: Context, options: MediaOptions, client: RunflowClient) -> MediaCopier:
    """A copier into ``media_path/{dag_id}/{run_id}/{task_id}[/{map_index}]`` that re-reads expired URLs."""
    folder = ObjectStoragePath(str(media_path).rstrip("/")) / scope_of(context).folder()
    return MediaCopier(folder, options, FreshUrls(client, options.select))


def persisted(batches: Iterable[list[dict[str, Any]]], copier: MediaCopier) -> Iterator[list[dict[str, Any]]]:
    """Each batch's entries with their media copied; the copier keeps the items whose media failed."""
    for entries in batches:
        yield copier.add_media(entries)


def media_error(copier: MediaCopier, media_path: str, options: MediaOptions) -> RunflowMediaError | None:
    """Once every item was tried, by ``options.on_error``: the error naming the failed items, or None (logged)."""
    message = failure_message(copier.failed, media_path)
    if message is None:
        return None
    if options.on_error == "fail":
        return RunflowMediaError(message)
    log.warning("%s", message)
    return None


def persist_media(
    entries: list[dict[str, Any]],
    media_path: str,
    *,
    runflow_conn_id: str = "runflow_default",
    options: MediaOptions | None = None,
    context: Context | None = None,
) -> list[dict[str, Any]]:
    """Copy the media of result entries under ``media_path``; return the entries with ``media``.

    For entries produced elsewhere (``RunflowBatchOperator``'s list, its JSON Lines read back...):
    the operator's layout, checks, retries and ``on_error`` policy. Call it inside a task (``context``
    defaults to the running one); ``runflow_conn_id`` is used only to re-read URLs that expired.
    """
    from airflow_provider_runflow.hooks.runflow import RunflowHook

    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    options = options or MediaOptions()
    with RunflowHook(runflow_conn_id).get_conn() as client, open_copier(media_path, context, options, client) as copier:
        result = [entry for batch in persisted([list(entries)], copier) for entry in batch]
    if error := media_error(copier, media_path, options):
        raise error
    return result
