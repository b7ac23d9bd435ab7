"""The media flow against a real S3 API: moto's server on loopback, reached through ``s3://`` ObjectStoragePath."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_support import xcom
from media_support import completed_downloads, expected_png, media_dag

from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
BUCKET = "runflow-media"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket; ``runflow_media_path`` points into it."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    existing = [obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])] if _has(client) else []
    for key in existing:
        client.delete_object(Bucket=BUCKET, Key=key)
    if not _has(client):
        client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_MEDIA_PATH", f"s3://{BUCKET}/media")
    return client


def _has(client: Any) -> bool:
    return any(bucket["Name"] == BUCKET for bucket in client.list_buckets()["Buckets"])


def listed_checksums(client: Any) -> set[str]:
    """``sha256  key`` for every line of every manifest part in the bucket."""
    keys = [obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET, MaxKeys=1000)["Contents"]]
    lines = set()
    for part in (key for key in keys if key.rsplit("/", 1)[-1].startswith("SHA256SUMS.")):
        text = client.get_object(Bucket=BUCKET, Key=part)["Body"].read().decode()
        lines |= {f"{line[:64]}  {part.rsplit('/', 1)[0]}/{line[66:]}" for line in text.splitlines()}
    return lines


def assert_in_bucket(client: Any, entries: list[dict[str, Any]], dag_id: str) -> None:
    listed = listed_checksums(client)
    for entry in entries:
        [record] = entry["media"]
        key = record["path"].removeprefix(f"s3://{BUCKET}/")
        assert key.startswith(f"media/{dag_id}/")
        assert key.endswith(f"/run/{entry['index']:05d}.png")
        data = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert data == expected_png(entry["output"]["image_url"])
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert f"{record['sha256']}  {key}" in listed


def test_250_images_are_stored_in_s3(media_emulator: RunflowEmulator, s3: Any) -> None:
    run = media_dag("rf_media_deferred").test()
    assert run.state == "success"
    entries = xcom(run, "run")
    assert [entry["index"] for entry in entries] == list(range(250))
    assert_in_bucket(s3, entries, "rf_media_deferred")


def test_a_retried_task_finds_its_files_in_s3(media_emulator: RunflowEmulator, s3: Any) -> None:
    media_emulator.set_media_faults([FaultRule(kind=FaultKind.SERVER_ERROR, times=1)])
    run = media_dag("rf_media_retry").test()
    assert run.state == "success"
    assert_in_bucket(s3, xcom(run, "run"), "rf_media_retry")
    assert set(completed_downloads(media_emulator).values()) == {1}
