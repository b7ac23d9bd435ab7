"""The FastAPI app of the "Runflow outputs" plugin: the page, its JSON, and the stored media it shows.

Airflow mounts plugin apps without authentication, so the app itself depends on Airflow's
FastAPI security for every route: an authenticated user who may read the XComs of the DAG
named in the request. The page is rendered on the server; the browser never talks to Runflow
and never sees a connection or its API key. Every number a route takes is bounded, and what a
task recorded is read defensively: hostile input or hostile records get a 4xx or a notice.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_runflow.plugins.entries import MAX_PAGE, MAX_PER_PAGE, EntriesError, PageRequest, jsonl_entry
from airflow_provider_runflow.plugins.media import SERVED_TYPES
from airflow_provider_runflow.plugins.media_stream import SLOTS, BoundedFileResponse, StreamLimits
from airflow_provider_runflow.plugins.rendering import CONTENT_SECURITY_POLICY, render_page
from airflow_provider_runflow.plugins.storage import NotAFile, StoragePolicy, open_regular_file
from airflow_provider_runflow.plugins.task_record import MAX_INDEX, RecordDep, TaskRecord
from airflow_provider_runflow.plugins.view import OutputsView, build_view, open_lines

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response of the app, refusals and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def storage_policy() -> StoragePolicy:
    """Where the app may read results files and stored media: ``[runflow] ui_storage_roots`` and
    ``ui_shared_storage_roots`` of the api-server."""
    from airflow.providers.common.compat.sdk import conf

    return StoragePolicy.parse(
        conf.get("runflow", "ui_storage_roots", fallback="") or "",
        conf.get("runflow", "ui_shared_storage_roots", fallback="") or "",
    )


def page_request(
    status_filter: Annotated[str, Query(alias="status", max_length=20)] = "all",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 48,
) -> PageRequest:
    try:
        return PageRequest(status_filter, page, per_page)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None


StorageDep = Annotated[StoragePolicy, Depends(storage_policy)]
PageDep = Annotated[PageRequest, Depends(page_request)]
IndexQuery = Annotated[int, Query(ge=0, le=MAX_INDEX)]

app = FastAPI(
    title="Runflow outputs",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.XCOM))],
)
app.add_middleware(SecurityHeaders)


@app.get("/outputs", response_class=HTMLResponse)
def outputs_page(record: RecordDep, request: PageDep, storage: StorageDep) -> HTMLResponse:
    """The tab: a page of the task instance's items as a grid, with the run's header."""
    return HTMLResponse(render_page(build_view(record, request, storage)))


@app.get("/items")
def outputs_items(record: RecordDep, request: PageDep, storage: StorageDep) -> OutputsView:
    """The same page as JSON."""
    return build_view(record, request, storage)


@app.get("/media")
async def stored_media(
    record: RecordDep, storage: StorageDep, user: GetUserDep, item: IndexQuery, media: IndexQuery = 0
) -> BoundedFileResponse:
    """Stream the ``media``-th file recorded for item ``item``: only a recorded path, in the task's own folder.

    The DB session is closed by then (``RecordDep``); the stream is bounded in time and per user.
    """
    limits, user_id = StreamLimits.from_config(), str(user.get_id())
    if not await SLOTS.take(user_id, limits.per_user):
        busy = f"At most {limits.per_user} media streams at a time per user ([runflow] ui_media_streams_per_user)"
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, busy, headers={"Retry-After": "5"})
    try:
        path, content_type = await run_in_threadpool(_served_file, record, item, media, storage)
        file, size = await run_in_threadpool(_open_stored, path)
    except BaseException:
        SLOTS.give_back(user_id)
        raise
    return BoundedFileResponse(file, size, content_type, limits.seconds, lambda: SLOTS.give_back(user_id))


def _served_file(record: TaskRecord, item: int, media: int, storage: StoragePolicy) -> tuple[str, str]:
    """The path and content type of the ``media``-th file of item ``item``, if this page may serve it."""
    recorded = _recorded_media(record, item, storage)
    found = recorded[media] if media < len(recorded) else None
    if not isinstance(found, dict) or not isinstance(found.get("path"), str):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such stored media")
    path, content_type = found["path"], found.get("content_type")
    if not storage.may_read(path, record.key) or not isinstance(content_type, str) or content_type not in SERVED_TYPES:
        refused = "This media is not served: see [runflow] ui_storage_roots (docs/ui.md)"
        raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
    return path, str(content_type)


def _open_stored(path: str) -> tuple[Any, int | None]:
    try:
        return open_regular_file(path)
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The stored media no longer exists") from None
    except NotAFile:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The stored media is not a file") from None
    except OSError:  # permissions, storage trouble: nothing the viewer can act on beyond knowing
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The stored media cannot be read") from None


def _recorded_media(record: TaskRecord, item: int, storage: StoragePolicy) -> list[Any]:
    """The ``media`` list of the task's entry for input ``item``, read from its XCom or its results file."""
    entry: Any = None
    manifest, returned = record.manifest, record.returned
    if manifest is not None and storage.may_read(manifest["output_path"], record.key):
        try:
            with open_lines(manifest["output_path"]) as lines:
                entry = jsonl_entry(lines, item)
        except (EntriesError, OSError, ValueError):  # ValueError: not UTF-8 text
            return []
    elif isinstance(returned, list) and item < len(returned):
        entry = returned[item]
    if not isinstance(entry, dict) or entry.get("index") != item or not isinstance(entry.get("media"), list):
        return []
    return list(entry["media"])
