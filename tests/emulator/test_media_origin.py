"""The media origin: signed URLs that expire, fresh on every read, deterministic bytes, faults and a header log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from emulator_support import make_client, wait_terminal

from airflow_provider_runflow.client import RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.emulator.media import digest_of, png_bytes, video_bytes


@pytest.fixture(scope="module")
def short() -> Iterator[RunflowEmulator]:
    with RunflowEmulator(time_scale=0.02, media_url_ttl=0.5, media_video_bytes=3_000_000) as emulator:
        yield emulator


@pytest.fixture
def runflow(short: RunflowEmulator) -> Iterator[RunflowClient]:
    short.reset()
    with make_client(short) as client:
        yield client


def image_url(client: RunflowClient, batch_id: str) -> str:
    row = client.send(calls.batch_items(batch_id))[0]
    assert row.output is not None
    return str(row.output["image_url"])


def finished(client: RunflowClient, model: str, item: dict[str, object]) -> str:
    return wait_terminal(client, client.send(calls.create_batch(model, build_batch_request([item]))).id or "").id or ""


def test_media_come_from_another_origin_with_deterministic_bytes(
    short: RunflowEmulator, runflow: RunflowClient
) -> None:
    url = image_url(runflow, finished(runflow, "acme/image-gen", {"prompt": "cat", "width": 40, "height": 30}))
    assert urlsplit(url).netloc == urlsplit(short.media_url).netloc != urlsplit(short.url).netloc
    answer = httpx.get(url)
    assert answer.headers["content-type"] == "image/png"
    assert answer.content == png_bytes(digest_of(url), 40, 30)
    assert answer.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(answer.content[16:20], "big") == 40


def test_urls_expire_and_each_read_signs_afresh(runflow: RunflowClient) -> None:
    batch_id = finished(runflow, "acme/image-gen", {"prompt": "dog"})
    first = image_url(runflow, batch_id)
    time.sleep(0.6)
    expired = httpx.get(first)
    assert expired.status_code == 403
    assert b"Request has expired" in expired.content
    fresh = image_url(runflow, batch_id)
    assert fresh != first
    assert urlsplit(fresh).path == urlsplit(first).path
    assert httpx.get(fresh).status_code == 200
    assert httpx.get(fresh.replace("signature=", "signature=0")).status_code == 403


def test_videos_are_mp4_typed_streams_of_the_configured_size(runflow: RunflowClient) -> None:
    batch_id = finished(runflow, "acme/video/gen-v2", {"prompt": "sea"})
    row = runflow.send(calls.batch_items(batch_id))[0]
    assert row.output is not None
    answer = httpx.get(row.output["video_url"])
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.content == video_bytes(digest_of(row.output["video_url"]), 3_000_000)
    assert answer.content[4:8] == b"ftyp"


def test_media_faults_and_the_header_log(short: RunflowEmulator, runflow: RunflowClient) -> None:
    row = runflow.send(calls.batch_items(finished(runflow, "acme/video/gen-v2", {"prompt": "storm"})))[0]
    assert row.output is not None
    url = row.output["video_url"]
    short.set_media_faults([FaultRule(sequence=(FaultKind.BAD_GATEWAY, FaultKind.DROP_CONNECTION))])
    bad = httpx.get(url, headers={"Authorization": "Bearer visible-in-the-log"})
    assert (bad.status_code, bad.headers["content-type"]) == (502, "text/html")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert httpx.get(url).status_code == 200
    log = short.media_requests()
    assert [entry["status"] for entry in log] == ["502", "dropped", "200"]
    assert log[0]["headers"]["authorization"] == "Bearer visible-in-the-log"
