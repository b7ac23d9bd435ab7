"""Expired URLs are re-read from Runflow; large videos stream with flat memory; non-media answers are refused."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_support import xcom
from media_support import (
    assert_images_stored,
    assert_no_runflow_credentials,
    completed_downloads,
    connect,
    copy,
    finished_items,
    local,
    media_dag,
)

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.media import digest_of, video_bytes
from airflow_provider_runflow.media import MediaOptions

MB = 1024 * 1024


@pytest.fixture(scope="module")
def short_lived() -> Iterator[RunflowEmulator]:
    """Media URLs valid for 1 s after each read; videos of 50 MB."""
    with RunflowEmulator(run_seconds=0.05, media_url_ttl=1.0, media_video_bytes=50 * MB) as emu:
        yield emu


@pytest.fixture
def emu(short_lived: RunflowEmulator, monkeypatch: pytest.MonkeyPatch) -> RunflowEmulator:
    short_lived.reset()
    return connect(short_lived, monkeypatch)


@pytest.mark.usefixtures("airflow_db")
def test_urls_expired_before_the_copy_are_read_again_and_stored(emu: RunflowEmulator, media_folder: Path) -> None:
    run = media_dag("rf_media_later").test()
    assert run.state == "success"
    entries = xcom(run, "keep")
    statuses = [request["status"] for request in emu.media_requests()]
    assert statuses.count("403") >= 30  # every URL handed downstream had lapsed
    [folder] = [path for path in (media_folder / "rf_media_later").iterdir()]
    # The records keep the URL of the output; the stored bytes are what its fresh twin served.
    assert_images_stored(entries, folder / "keep")
    assert set(completed_downloads(emu).values()) == {1}
    items_reads = emu.counters()["requests"]["GET /v1/batches/{batch_id}/items"]["200"]
    assert items_reads <= 3  # the operator's read, then one re-read for all 30 expired URLs (a spare for timing)
    assert_no_runflow_credentials(emu)


def test_a_50_mb_video_is_copied_with_flat_memory(emu: RunflowEmulator, tmp_path: Path) -> None:
    entries = finished_items("acme/video/gen-v2", [{"prompt": "a wave"}])
    tracemalloc.start()
    try:
        [entry] = copy(entries, tmp_path, MediaOptions())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [record] = entry["media"]
    expected = video_bytes(digest_of(entry["output"]["video_url"]), 50 * MB)
    assert record["bytes"] == 50 * MB
    assert record["sha256"] == hashlib.sha256(expected).hexdigest()
    assert local(record["path"]).read_bytes() == expected
    assert record["content_type"] == "video/mp4"
    assert record["path"].endswith("/00000.mp4")
    assert peak < 8 * MB, f"copying 50 MB peaked at {peak / MB:.1f} MB of Python memory"


def test_a_non_media_answer_is_refused_and_not_stored(emu: RunflowEmulator, tmp_path: Path) -> None:
    entries = [{"index": 0, "status": "succeeded", "output": {"url": f"{emu.url}/v1/health"}}]
    [entry] = copy(entries, tmp_path, MediaOptions())
    assert "not a media type" in entry["media"][0]["error"]
    assert list(tmp_path.iterdir()) == []


def test_a_file_above_the_size_cap_is_refused(emu: RunflowEmulator, tmp_path: Path) -> None:
    entries = finished_items("acme/video/gen-v2", [{"prompt": "too long"}])
    [entry] = copy(entries, tmp_path, MediaOptions(max_bytes=10 * MB))
    assert "above the 10485760-byte cap" in entry["media"][0]["error"]
    assert list(tmp_path.iterdir()) == []
