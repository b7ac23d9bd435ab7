"""The FastAPI app of the "Runflow outputs" plugin: the page, its JSON, and the stored media it shows.

Airflow mounts plugin apps without authentication, so the app itself depends on Airflow's
FastAPI security for every route: an authenticated user who may read the XComs of the DAG
named in the request. The page is rendered on the server; the browser never talks to Runflow
and never sees a connection or its API key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_runflow.plugins.entries import EntriesError, PageRequest, jsonl_entry
from airflow_provider_runflow.plugins.media import SERVED_TYPES, StorageRoot, parse_roots, within_roots
from airflow_provider_runflow.plugins.rendering import CONTENT_SECURITY_POLICY, render_page
from airflow_provider_runflow.plugins.task_record import RecordDep, TaskRecord
from airflow_provider_runflow.plugins.view import OutputsView, build_view, open_lines

CHUNK = 256 * 1024
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


def storage_roots() -> tuple[StorageRoot, ...]:
    """Where the app may read results files and stored media: ``[runflow] ui_storage_roots`` of the api-server."""
    from airflow.providers.common.compat.sdk import conf

    return parse_roots(conf.get("runflow", "ui_storage_roots", fallback="") or "")


def page_request(
    status_filter: Annotated[str, Query(alias="status")] = "all", page: int = 1, per_page: int = 48
) -> PageRequest:
    try:
        return PageRequest(status_filter, page, per_page)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None


RootsDep = Annotated[tuple[StorageRoot, ...], Depends(storage_roots)]
PageDep = Annotated[PageRequest, Depends(page_request)]

app = FastAPI(
    title="Runflow outputs",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.XCOM))],
)
app.add_middleware(SecurityHeaders)


@app.get("/outputs", response_class=HTMLResponse)
def outputs_page(record: RecordDep, request: PageDep, roots: RootsDep) -> HTMLResponse:
    """The tab: a page of the task instance's items as a grid, with the run's header."""
    return HTMLResponse(render_page(build_view(record, request, roots)))


@app.get("/items")
def outputs_items(record: RecordDep, request: PageDep, roots: RootsDep) -> OutputsView:
    """The same page as JSON."""
    return build_view(record, request, roots)


@app.get("/media")
def stored_media(record: RecordDep, roots: RootsDep, item: int, media: int = 0) -> StreamingResponse:
    """Stream the ``media``-th file recorded for item ``item``: only a recorded path, under a storage root."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    recorded = _recorded_media(record, item, roots)
    found = recorded[media] if 0 <= media < len(recorded) else None
    if not isinstance(found, dict) or not isinstance(found.get("path"), str):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such stored media")
    path, content_type = found["path"], found.get("content_type")
    if not within_roots(path, roots) or content_type not in SERVED_TYPES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This media is not served: see [runflow] ui_storage_roots")
    try:
        file = ObjectStoragePath(path).open("rb")  # type: ignore[no-untyped-call]
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The stored media no longer exists") from None
    headers = {"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"}
    return StreamingResponse(_chunks(file), media_type=content_type, headers=headers)


def _recorded_media(record: TaskRecord, item: int, roots: tuple[StorageRoot, ...]) -> list[Any]:
    """The ``media`` list of the task's entry for input ``item``, read from its XCom or its results file."""
    entry: Any = None
    manifest, returned = record.manifest, record.returned
    if item < 0:
        return []
    if manifest is not None and within_roots(manifest["output_path"], roots):
        try:
            with open_lines(manifest["output_path"]) as lines:
                entry = jsonl_entry(lines, item)
        except (FileNotFoundError, EntriesError):
            return []
    elif isinstance(returned, list) and item < len(returned):
        entry = returned[item]
    if not isinstance(entry, dict) or entry.get("index") != item or not isinstance(entry.get("media"), list):
        return []
    return list(entry["media"])


def _chunks(file: Any) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk
