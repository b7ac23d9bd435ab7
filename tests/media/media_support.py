"""Checking what media persistence left: files, records, and what the media origin was asked."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from airflow.sdk import DAG

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.media import digest_of, png_bytes


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
    """``runflow_default`` at ``emu``, with an ``organization_id`` extra: sent to Runflow, never to media hosts."""
    conn = json.loads(emu.connection_json())
    conn["extra"] = {"organization_id": emu.organization_id()}
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps(conn))
    return emu
