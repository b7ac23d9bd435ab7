"""Checking what media persistence left: files, records, and what the media origin was asked."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from airflow.sdk import DAG, ObjectStoragePath

from airflow_provider_runflow.batching.tracker import BatchTracker
from airflow_provider_runflow.client import ItemsQuery, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.media import digest_of, png_bytes
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.media import MediaOptions
from airflow_provider_runflow.media.copier import MediaCopier
from airflow_provider_runflow.media.refresh import FreshUrls


def media_dag(dag_id: str) -> DAG:
    dags: dict[str, DAG] = importlib.import_module("runflow_media").DAGS
    return dags[dag_id]


def local(path: str) -> Path:
    assert path.startswith("file://"), path
    return Path(path.removeprefix("file://"))


def expected_png(url: str) -> bytes:
    query = dict(parse_qsl(urlsplit(url).query))
    return png_bytes(digest_of(url), int(query["w"]), int(query["h"]))


def assert_images_stored(entries: list[dict[str, Any]], folder: Path) -> None:
    """Every entry's one image is in ``folder`` as ``{index:05d}.png``, byte for byte, with a true record."""
    for entry in entries:
        [record] = entry["media"]
        url = entry["output"]["image_url"]
        data = local(record["path"]).read_bytes()
        assert record["source_url"] == url
        assert local(record["path"]) == folder / f"{entry['index']:05d}.png"
        assert data == expected_png(url)
        assert (record["bytes"], record["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert record["content_type"] == "image/png"


def assert_manifest_checks(folder: Path) -> None:
    """``sha256sum -c`` over the folder's manifest parts passes, and they list every media file in it."""
    parts = sorted(path.name for path in folder.glob("SHA256SUMS.*"))
    assert parts
    checked = subprocess.run(["sha256sum", "--strict", "-c", *parts], cwd=folder, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = {line.removesuffix(": OK") for line in checked.stdout.splitlines()}
    assert listed == {path.name for path in folder.iterdir() if not path.name.startswith("SHA256SUMS.")}


def completed_downloads(emu: RunflowEmulator) -> Counter[str]:
    """Media paths by how many times they were served in full."""
    return Counter(r["path"] for r in emu.media_requests() if r["status"] == "200")


def assert_no_runflow_credentials(emu: RunflowEmulator) -> None:
    """No request to the media origin carried the API key, any Authorization or X-Organization-Id."""
    requests = emu.media_requests()
    assert requests
    for request in requests:
        assert "authorization" not in request["headers"]
        assert "x-organization-id" not in request["headers"]
        assert emu.api_key not in json.dumps(request)
        assert emu.organization_id() not in json.dumps(request)


def connect(emu: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> RunflowEmulator:
    """``runflow_default`` at ``emu``, with an ``organization_id`` extra: sent to Runflow, never to media hosts.

    The emulator's media origin is on loopback, which media persistence refuses unless allowed."""
    conn = json.loads(emu.connection_json())
    conn["extra"] = {"organization_id": emu.organization_id()}
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS", "127.0.0.1")
    return emu


def finished_items(model: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Result entries of one finished batch of ``inputs`` (as the operator builds them), through ``runflow_default``."""
    hook = RunflowHook()
    with hook.get_conn() as client:
        batch = client.send(calls.create_batch(model, build_batch_request(inputs)))
        hook.wait(BatchTracker([batch.id or ""], time.time() + 60), 0.1)
        rows = client.send(calls.batch_items(batch.id or "", ItemsQuery()))
        return [
            {"index": i, "status": row.status_code, "output": row.output, "batch_id": batch.id, "run_id": row.run_id}
            for i, row in enumerate(rows)
        ]


def copy(entries: list[dict[str, Any]], folder: Path, options: MediaOptions) -> list[dict[str, Any]]:
    """``entries`` with their media copied into ``folder`` by a copier that re-reads expired URLs."""
    with RunflowHook().get_conn() as client:
        target = ObjectStoragePath(f"file://{folder}")
        with MediaCopier(target, options, FreshUrls(client, options.select)) as copier:
            return copier.add_media(entries)
