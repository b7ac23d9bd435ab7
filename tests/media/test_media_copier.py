"""The copier on its own: a second copy into the same folder (a task retry) reuses intact files and
copies again only the rest; downloads never exceed the configured concurrency."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from media_support import assert_images_stored, assert_manifest_checks, completed_downloads, copy, finished_items

from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.media import MediaOptions


def images(n: int) -> list[dict[str, object]]:
    return [{"prompt": f"bird {i}", "width": 20, "height": 20 + i} for i in range(n)]


def test_a_retry_copies_again_only_files_cut_short_or_changed(media_emulator: RunflowEmulator, tmp_path: Path) -> None:
    entries = finished_items("acme/image-gen", images(12))
    first = copy(entries, tmp_path, MediaOptions())
    [part] = tmp_path.glob("SHA256SUMS.*")
    # A crash while 00004.png was written: the file is cut short and no manifest part lists it yet.
    cut = tmp_path / "00004.png"
    cut.write_bytes(cut.read_bytes()[:100])
    part.write_text("".join(line for line in part.read_text().splitlines(keepends=True) if "00004.png" not in line))
    # 00007.png is listed, but its content changed since.
    changed = tmp_path / "00007.png"
    changed.write_bytes(changed.read_bytes()[:-1] + b"\0")
    before = completed_downloads(media_emulator)

    again = copy(entries, tmp_path, MediaOptions())

    copied = completed_downloads(media_emulator) - before
    assert set(copied) == {urlsplit(entries[i]["output"]["image_url"]).path for i in (4, 7)}
    assert set(copied.values()) == {1}
    assert again == first
    assert_images_stored(again, tmp_path)
    assert_manifest_checks(tmp_path)


def test_an_unlisted_file_is_not_trusted(media_emulator: RunflowEmulator, tmp_path: Path) -> None:
    entries = finished_items("acme/image-gen", images(3))
    copy(entries, tmp_path, MediaOptions())
    for part in tmp_path.glob("SHA256SUMS.*"):
        part.unlink()  # a crash before the first part was written: every file complete, none listed
    before = completed_downloads(media_emulator)

    again = copy(entries, tmp_path, MediaOptions())

    assert sum((completed_downloads(media_emulator) - before).values()) == 3
    assert_images_stored(again, tmp_path)
    assert_manifest_checks(tmp_path)


def test_no_more_than_concurrency_downloads_run_at_once(media_emulator: RunflowEmulator, tmp_path: Path) -> None:
    entries = finished_items("acme/image-gen", images(6))
    media_emulator.set_media_faults([FaultRule(kind=FaultKind.DELAY, probability=1.0, delay=0.3)])
    started = time.monotonic()
    copied = copy(entries, tmp_path, MediaOptions(concurrency=2))
    # Every body stalls 0.3 s halfway: two at a time take three rounds, four at a time would take two.
    assert time.monotonic() - started >= 0.9
    assert_images_stored(copied, tmp_path)
