"""The receiver of Runflow's signed batch callbacks: ``POST /runflow-outputs/callbacks/{conn_id}``.

Runflow cannot log in to Airflow, so this route deliberately has no Airflow authentication:
the ``Runflow-Signature`` header is its authentication. A request is believed only when that
header is the HMAC-SHA256 of the raw body under one of the webhook secrets kept in the
connection's ``callback_secrets`` (two during a rotation; compared in constant time). Everything
else is refused before the body is parsed, and no secret or payload is logged or echoed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from airflow_provider_runflow.assets.runflow import batches_asset_uri
from airflow_provider_runflow.client.signing import SIGNATURE_HEADER, verify_runflow_signature
from airflow_provider_runflow.plugins.callback_events import Callback, Recorded, record_callback

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
"""A batch callback carries up to 100 items' outputs; a larger body is refused (413) unread."""
REQUEST_ID_HEADER = "Runflow-Request-Id"
NOT_VERIFIED = "Runflow-Signature missing or not valid for this connection's callback secrets"

router = APIRouter()


async def bounded_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, read chunk by chunk and refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"Callback bodies are limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"Callback bodies are limited to {limit} bytes")
    return bytes(body)


def connection_secrets(conn_id: str) -> tuple[str | None, tuple[str, ...]]:
    """The connection's API base URL and webhook secrets; none when it does not exist (told apart only in logs)."""
    from airflow.models.connection import Connection
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, mask_secret

    from airflow_provider_runflow.client.config import normalize_base_url
    from airflow_provider_runflow.hooks.runflow import base_url_of, callback_secrets_of

    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        log.warning("Runflow callback for connection %r, which does not exist", conn_id)
        return None, ()
    secrets = callback_secrets_of(conn.extra_dejson)
    for secret in secrets:
        mask_secret(secret)
    if not secrets:
        log.warning("Runflow callback for connection %r, which has no callback_secrets", conn_id)
    return normalize_base_url(base_url_of(conn.host, conn.port, conn.schema)), secrets


def verified(body: bytes, signature: str | None, secrets: tuple[str, ...]) -> bool:
    """Whether any secret signs ``body`` as ``signature`` says; every secret is tried, each in constant time."""
    return sum(verify_runflow_signature(secret, body, signature) for secret in secrets) > 0


def parse_payload(body: bytes) -> dict[str, Any]:
    """The callback's JSON object, which must name its batch and event (422 otherwise, without echoing it)."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The callback body is not JSON") from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("batch_id", "event")):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The callback names no batch_id and event")
    return payload


@router.post("/callbacks/{conn_id}")
async def receive_callback(conn_id: str, request: Request) -> JSONResponse:
    """Verify a Runflow callback and record it as an event of ``runflow://<host>/batches``, once.

    No Airflow login: the signature authenticates the request (see the module docstring).
    """
    body = await bounded_body(request)
    base_url, secrets = await run_in_threadpool(connection_secrets, conn_id)
    if base_url is None or not verified(body, request.headers.get(SIGNATURE_HEADER), secrets):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_VERIFIED)
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
