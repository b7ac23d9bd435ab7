"""The receiver of Runflow's signed batch callbacks: ``POST /runflow-callbacks/{conn_id}``.

Runflow cannot log in to Airflow, so this app deliberately has no Airflow authentication:
the ``Runflow-Signature`` header is its authentication. A request is believed only when that
header is the HMAC-SHA256 of the raw body under one of the webhook secrets kept in the
connection's ``callback_secrets`` (two during a rotation; compared in constant time). Everything
else is refused before the body is parsed, and no secret or payload is logged or echoed.
The body is bounded in size (1 MiB) and in time (30 s to arrive); hostile input gets a 4xx.

In 0.1.0 the receiver lived in the outputs plugin's app, at ``/runflow-outputs/callbacks/{conn_id}``:
that URL still works for configured callbacks, and says in the log that it is deprecated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from airflow_provider_runflow.assets.runflow import batches_asset_uri
from airflow_provider_runflow.client.signing import SIGNATURE_HEADER, verify_runflow_signature
from airflow_provider_runflow.plugins import bounded_json
from airflow_provider_runflow.plugins.callback_events import Callback, Recorded, record_callback
from airflow_provider_runflow.plugins.log_throttle import ThrottledWarnings

log = logging.getLogger(__name__)
throttled = ThrottledWarnings(log)

MAX_BODY_BYTES = 1024 * 1024
"""A batch callback carries up to 100 items' outputs; a larger body is refused (413) unread."""
BODY_SECONDS = 30.0
"""Time for the whole body to arrive: a sender trickling bytes to hold a connection gets 408."""
REQUEST_ID_HEADER = "Runflow-Request-Id"
NOT_VERIFIED = "Runflow-Signature missing or not valid for this connection's callback secrets"
OLD_URL = "/runflow-outputs/callbacks/{conn_id}"

app = FastAPI(title="Runflow callbacks", docs_url=None, redoc_url=None, openapi_url=None)
deprecated_router = APIRouter()
"""The receiver's URL in 0.1.0, in the outputs plugin's app (``plugin_app``)."""


async def bounded_body(request: Request, limit: int = MAX_BODY_BYTES, seconds: float = BODY_SECONDS) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` bytes, or (408) when it takes over ``seconds``."""
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"Callback bodies are limited to {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise too_large
    except TimeoutError:
        late = f"The body did not arrive within {seconds:.0f} s"
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT, late) from None
    return bytes(body)


def connection_secrets(conn_id: str) -> tuple[str | None, tuple[str, ...]]:
    """The connection's API base URL and webhook secrets; none when it does not exist (told apart only in logs).

    Anyone can post to the receiver, so these warnings are throttled: a flood logs one a minute.
    """
    from airflow.models.connection import Connection
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, mask_secret

    from airflow_provider_runflow.client.config import normalize_base_url
    from airflow_provider_runflow.hooks.runflow import base_url_of, callback_secrets_of

    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        throttled.warning("unknown connection", "Runflow callback for connection %r, which does not exist", conn_id)
        return None, ()
    secrets = callback_secrets_of(conn.extra_dejson)
    for secret in secrets:
        mask_secret(secret)
    if not secrets:
        throttled.warning("no secrets", "Runflow callback for connection %r, which has no callback_secrets", conn_id)
    return normalize_base_url(base_url_of(conn.host, conn.port, conn.schema)), secrets


def verified(body: bytes, signature: str | None, secrets: tuple[str, ...]) -> bool:
    """Whether any secret signs ``body`` as ``signature`` says; every secret is tried, each in constant time."""
    return sum(verify_runflow_signature(secret, body, signature) for secret in secrets) > 0


def parse_payload(body: bytes) -> dict[str, Any]:
    """The callback's JSON object, which must name its batch and event (422 otherwise, without echoing it)."""
    try:
        payload = bounded_json.loads(body, finite=True)
    except bounded_json.TooDeep as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"The callback body is {err}") from None
    except ValueError:  # not JSON, not UTF-8, NaN or a number out of range
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The callback body is not JSON") from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("batch_id", "event")):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The callback names no batch_id and event")
    return payload


@app.post("/{conn_id}")
async def receive_callback(conn_id: str, request: Request) -> JSONResponse:
    """Verify a Runflow callback and record it as an event of ``runflow://<host>/batches``, once.

    No Airflow login: the signature authenticates the request (see the module docstring).
    """
    return await _receive(conn_id, request)


@deprecated_router.post(OLD_URL.removeprefix("/runflow-outputs"), deprecated=True)
async def receive_callback_at_old_url(conn_id: str, request: Request) -> JSONResponse:
    """The same receiver at its URL of 0.1.0, kept for callbacks configured then; logs that it is deprecated."""
    return await _receive(conn_id, request, old_url=True)


async def _receive(conn_id: str, request: Request, old_url: bool = False) -> JSONResponse:
    body = await bounded_body(request)
    base_url, secrets = await run_in_threadpool(connection_secrets, conn_id)
    if base_url is None or not verified(body, request.headers.get(SIGNATURE_HEADER), secrets):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_VERIFIED)
    if old_url:  # only once verified: an unsigned flood logs nothing here
        throttled.warning(
            ("old URL", conn_id),
            "Runflow callbacks for connection %r are sent to the deprecated URL %s: point their callback_url at "
            "/runflow-callbacks/%s on this api-server",
            conn_id, OLD_URL.format(conn_id=conn_id), conn_id,
        )  # fmt: skip
    callback = Callback(conn_id, request.headers.get(REQUEST_ID_HEADER), parse_payload(body))
    recorded = await run_in_threadpool(_record, batches_asset_uri(base_url), callback)
    log.info(
        "Runflow callback %s for batch %s (%s): %s",
        callback.request_id, callback.key[0], callback.key[1], _outcome(recorded),
    )  # fmt: skip
    return JSONResponse(_answer(recorded))


def _record(asset_uri: str, callback: Callback) -> Recorded:
    from airflow.utils.session import create_session

    with create_session() as session:
        return record_callback(session, asset_uri, callback)


def _outcome(recorded: Recorded) -> str:
    if recorded.no_asset:
        return f"not recorded, no DAG uses {recorded.asset_uri}"
    return "already recorded" if recorded.duplicate else f"asset event {recorded.event_id}"


def _answer(recorded: Recorded) -> dict[str, Any]:
    return {
        "asset_uri": recorded.asset_uri,
        "recorded": recorded.event_id is not None,
        "duplicate": recorded.duplicate,
        "asset_event_id": recorded.event_id,
    }
