"""The callback receiver through Airflow's real API app: what it verifies, records once, refuses and never logs.

Runflow cannot log in, so no request here carries Airflow credentials: the signature is the
authentication, and everything unsigned, forged or oversized is refused before anything is recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from airflow_support import asset_events
from events_support import NEXT_SECRET, SECRET
from fastapi.testclient import TestClient

from airflow_provider_runflow.client import SIGNATURE_HEADER
from airflow_provider_runflow.client.signing import runflow_signature
from airflow_provider_runflow.plugins.callback_receiver import MAX_BODY_BYTES, bounded_body

pytestmark = pytest.mark.airflow_db
ASSET = "runflow://runflow.test/batches"
URL, OLD_URL = "/runflow-callbacks/{conn_id}", "/runflow-outputs/callbacks/{conn_id}"


def payload(batch_id: str | None = None, event: str = "batch.succeeded", **extra: Any) -> bytes:
    """A callback body as Runflow sends it (compact JSON), for a new batch unless told."""
    body = {
        "event": event,
        "batch_id": batch_id or str(uuid.uuid4()),
        "status": event.removeprefix("batch."),
        "output": {"items": [], "succeeded": 2, "failed": 0, "cancelled": 0, "total": 2},
        "created_at": "2026-01-01T12:00:00+00:00",
        "completed_at": "2026-01-01T12:00:05+00:00",
        "metadata": {"campaign": "spring"},
        **extra,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def post(
    app: Any, body: bytes | Iterator[bytes], signature: str | None, conn_id: str = "runflow_hooks", url: str = URL
) -> Any:
    headers = {"Content-Type": "application/json", "Runflow-Request-Id": str(uuid.uuid4())}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return TestClient(app).post(url.format(conn_id=conn_id), content=body, headers=headers)


def batch_events(batch_id: str) -> list[dict[str, Any]]:
    return [event["extra"] for event in asset_events(ASSET) if event["extra"].get("batch_id") == batch_id]


def test_a_signed_callback_becomes_one_asset_event_with_the_payload(callback_app: Any) -> None:
    body = payload()

    response = post(callback_app, body, runflow_signature(SECRET, body))

    assert response.status_code == 200
    answer = response.json()
    assert (answer["recorded"], answer["duplicate"], answer["asset_uri"]) == (True, False, ASSET)
    [extra] = batch_events(json.loads(body)["batch_id"])
    assert extra == {
        **json.loads(body),
        "runflow_conn_id": "runflow_hooks",
        "runflow_request_id": extra["runflow_request_id"],
    }
    assert uuid.UUID(extra["runflow_request_id"])


def test_a_recorded_callback_queues_the_dag_scheduled_on_the_callback_asset(callback_app: Any) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    with create_session() as session:
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == "rf_events_on_callbacks"))
    body = payload()

    assert post(callback_app, body, runflow_signature(SECRET, body)).status_code == 200

    with create_session() as session:
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .where(AssetModel.uri == ASSET)
        )
        assert list(queued) == ["rf_events_on_callbacks"]


def test_a_redelivery_or_replay_records_nothing_new(callback_app: Any) -> None:
    body = payload()
    signature = runflow_signature(SECRET, body)
    assert post(callback_app, body, signature).json()["recorded"] is True

    again = post(callback_app, body, signature)  # a new Runflow-Request-Id, as on each delivery attempt

    assert again.status_code == 200
    assert (again.json()["recorded"], again.json()["duplicate"]) == (False, True)
    assert len(batch_events(json.loads(body)["batch_id"])) == 1


def test_a_later_event_of_the_same_batch_is_recorded(callback_app: Any) -> None:
    batch_id = str(uuid.uuid4())
    for event in ("batch.partial_succeeded", "batch.succeeded"):
        body = payload(batch_id, event)
        assert post(callback_app, body, runflow_signature(SECRET, body)).json()["recorded"] is True

    assert [extra["event"] for extra in batch_events(batch_id)] == ["batch.partial_succeeded", "batch.succeeded"]


@pytest.mark.parametrize("secret", [SECRET, NEXT_SECRET])
def test_during_a_rotation_either_secret_verifies(callback_app: Any, secret: str) -> None:
    body = payload()

    response = post(callback_app, body, runflow_signature(secret, body), conn_id="runflow_rotating")

    assert response.status_code == 200
    assert response.json()["recorded"] is True


def signatures(body: bytes) -> dict[str, str | None]:
    genuine = runflow_signature(SECRET, body)
    return {
        "missing": None,
        "empty": "",
        "forged": runflow_signature("whsec_guessed", body),
        "of another body": runflow_signature(SECRET, body + b" "),
        "truncated": genuine[:-1],
        "with a prefix": f"sha256={genuine}",
        "of the rotated-out secret": runflow_signature(NEXT_SECRET, body),
    }


@pytest.mark.parametrize("case", list(signatures(b"")))
def test_an_unverified_callback_is_refused_and_records_nothing(callback_app: Any, case: str) -> None:
    body = payload()

    response = post(callback_app, body, signatures(body)[case])

    assert response.status_code == 401
    assert "Runflow-Signature" in response.json()["detail"]
    assert batch_events(json.loads(body)["batch_id"]) == []


@pytest.mark.parametrize("conn_id", ["runflow_no_secrets", "runflow_missing"])
def test_without_secrets_to_verify_with_every_callback_is_refused(callback_app: Any, conn_id: str) -> None:
    body = payload()

    response = post(callback_app, body, runflow_signature(SECRET, body), conn_id=conn_id)

    assert response.status_code == 401
    assert batch_events(json.loads(body)["batch_id"]) == []


@pytest.mark.parametrize(("body", "problem"), [(b"", "not JSON"), (b"[]", "no batch_id"), (b'{"batch_id": 1}', "no")])
def test_a_signed_body_that_is_not_a_callback_is_refused(callback_app: Any, body: bytes, problem: str) -> None:
    response = post(callback_app, body, runflow_signature(SECRET, body))

    assert response.status_code == 422
    assert problem in response.json()["detail"]


def test_an_empty_unsigned_body_is_refused_as_unverified(callback_app: Any) -> None:
    assert post(callback_app, b"", None).status_code == 401


def test_a_huge_body_is_refused_before_it_is_verified(callback_app: Any) -> None:
    body = payload(padding="x" * MAX_BODY_BYTES)

    response = post(callback_app, body, runflow_signature(SECRET, body))

    assert response.status_code == 413
    assert batch_events(json.loads(body)["batch_id"]) == []


def test_a_huge_body_without_a_length_is_refused_once_it_passes_the_limit(callback_app: Any) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB in 64 KiB chunks, sent chunked (no Content-Length)
            yield b"x" * 65536

    response = post(callback_app, chunks(), "0" * 64)

    assert response.status_code == 413


def test_neither_the_secret_nor_the_payload_reaches_the_log(
    callback_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    marker = f"private-{uuid.uuid4()}"
    body = payload(metadata={"note": marker})
    with caplog.at_level(logging.DEBUG):
        assert post(callback_app, body, runflow_signature(SECRET, body)).status_code == 200
        assert post(callback_app, body, runflow_signature("whsec_guessed", body)).status_code == 401
        assert post(callback_app, body, runflow_signature(SECRET, body), "runflow_no_secrets").status_code == 401

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert json.loads(body)["batch_id"] in logged  # the receiver does log what it did
    for secret in (SECRET, NEXT_SECRET, marker, runflow_signature(SECRET, body)):
        assert secret not in logged


def test_the_receivers_old_url_still_records_and_logs_that_it_is_deprecated(
    callback_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    first, again = payload(), payload()
    with caplog.at_level(logging.WARNING):
        for body in (first, again):
            response = post(callback_app, body, runflow_signature(SECRET, body), url=OLD_URL)
            assert (response.status_code, response.json()["recorded"]) == (200, True)
        assert post(callback_app, payload(), "forged", url=OLD_URL).status_code == 401

    assert len(batch_events(json.loads(first)["batch_id"])) == 1
    [warning] = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]  # once a minute
    assert "/runflow-outputs/callbacks/runflow_hooks" in warning
    assert "/runflow-callbacks/runflow_hooks" in warning


def test_concurrent_deliveries_of_one_callback_record_one_event(callback_app: Any) -> None:
    """Runflow retries, redelivers, and two deliveries can arrive at once (SQLite here: no row locks)."""
    for _ in range(3):
        body = payload()
        start = threading.Barrier(30)

        def deliver(body: bytes, start: threading.Barrier) -> Any:
            start.wait()
            return post(callback_app, body, runflow_signature(SECRET, body)).json()

        with ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(deliver, [body] * 30, [start] * 30))

        assert sorted(answer["recorded"] for answer in answers) == [False] * 29 + [True]
        assert len(batch_events(json.loads(body)["batch_id"])) == 1


def test_unverifiable_requests_log_one_warning_a_minute_not_one_each(
    callback_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        for n in range(20):
            assert post(callback_app, payload(), "0" * 64, conn_id=f"runflow_probe_{n}").status_code == 401
            assert post(callback_app, payload(), "0" * 64, conn_id="runflow_no_secrets").status_code == 401

    logged = [record.getMessage() for record in caplog.records]
    assert len([m for m in logged if "which does not exist" in m]) <= 1
    assert len([m for m in logged if "which has no callback_secrets" in m]) <= 1


async def test_a_body_that_trickles_in_is_refused_once_its_time_is_up() -> None:
    from fastapi import HTTPException
    from starlette.requests import Request

    async def one_byte_a_second() -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b"{", "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": []}, one_byte_a_second)

    with pytest.raises(HTTPException) as refused:
        await bounded_body(request, seconds=1.0)
    assert refused.value.status_code == 408
