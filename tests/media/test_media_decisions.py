"""The pure decisions of media persistence: which URLs, which names, which Content-Types, what fails the task."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_runflow.media import MediaOptions, MediaScope, media_urls
from airflow_provider_runflow.media.layout import extension, file_stem, is_allowed, safe_part
from airflow_provider_runflow.media.manifest import Manifest, parse
from airflow_provider_runflow.media.options import failed_items, failure_message
from airflow_provider_runflow.media.plan import file_jobs

OUTPUT = {
    "image_url": "https://cdn.example/a.png?sig=1",
    "thumbs": ["https://cdn.example/t0.png", "ftp://cdn.example/t1.png", "https://cdn.example/t2.png"],
    "meta": {"source": "http://docs.example/model", "seed": 7, "note": "see https://x.example/y inside text"},
    "local": "file:///etc/passwd",
    "data": "data:image/png;base64,AAAA",
    "relative": "/v1/files/1.png",
}


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (
            None,
            [
                "https://cdn.example/a.png?sig=1",
                "https://cdn.example/t0.png",
                "https://cdn.example/t2.png",
                "http://docs.example/model",
            ],
        ),
        (["image_url"], ["https://cdn.example/a.png?sig=1"]),
        (["thumbs"], ["https://cdn.example/t0.png", "https://cdn.example/t2.png"]),
        (["thumbs.2", "missing.key", "thumbs.9"], ["https://cdn.example/t2.png"]),
        (["local", "data", "relative"], []),
        (lambda output: [output["image_url"], output["local"]], ["https://cdn.example/a.png?sig=1"]),
    ],
)
def test_media_urls_are_absolute_http_urls_in_output_order(select: Any, expected: list[str]) -> None:
    assert media_urls(OUTPUT, select) == expected


def test_a_url_listed_twice_is_copied_once() -> None:
    assert media_urls({"a": "https://h/x.png", "b": ["https://h/x.png"]}) == ["https://h/x.png"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("daily_images", "daily_images"),
        ("manual__2026-01-01T00:00:00+00:00", "manual__2026-01-01T00_00_00_00_00-"),
        ("../../etc", "_.._etc-"),
        ("..", "_-"),
        ("a/b", "a_b-"),
        ("", "_-"),
    ],
)
def test_path_parts_are_made_safe_and_changed_ones_get_a_hash(value: str, expected: str) -> None:
    part = safe_part(value)
    assert part.startswith(expected)
    assert "/" not in part
    assert not part.startswith(".")
    assert (part == value) == (expected == value)


def test_parts_that_differ_only_in_unsafe_characters_stay_apart() -> None:
    assert safe_part("run:1") != safe_part("run/1")


def test_layout_has_map_index_only_for_mapped_tasks() -> None:
    assert MediaScope("d", "r", "t").folder() == "d/r/t"
    assert MediaScope("d", "r", "t", 0).folder() == "d/r/t/0"
    assert (file_stem(42, 0, 1), file_stem(42, 1, 3)) == ("00042", "00042-1")


@pytest.mark.parametrize(
    ("content_type", "allowed", "ext"),
    [
        ("image/png", True, "png"),
        ("IMAGE/JPEG; charset=binary", True, "jpg"),
        ("video/mp4", True, "mp4"),
        ("video/x-matroska", True, "xmatroska"),
        ("audio/mpeg", True, "mp3"),
        ("text/html; charset=utf-8", False, "html"),
        ("application/json", False, "json"),
        ("", False, "bin"),
    ],
)
def test_only_media_types_are_stored_and_named_by_type(content_type: str, allowed: bool, ext: str) -> None:
    assert is_allowed(content_type, MediaOptions().content_types) is allowed
    assert extension(content_type) == ext


def test_jobs_cover_succeeded_entries_only_and_need_an_index() -> None:
    entries = [
        {"index": 3, "status": "succeeded", "output": {"a": "https://h/1.png", "b": "https://h/2.png"}},
        {"index": 4, "status": "failed", "output": None},
        {"index": 5, "status": "succeeded", "output": {"a": "https://h/3.png"}},
    ]
    assert [job.stem for job in file_jobs(entries, None)] == ["00003-0", "00003-1", "00005"]
    with pytest.raises(ValueError, match="result entry 0 has no valid 'index'"):
        file_jobs([{"status": "succeeded", "output": {"a": "https://h/1.png"}}], None)


def test_the_failure_message_names_the_items() -> None:
    entries = [
        {"index": 1, "client_ref": "cat", "media": [{"error": "https://h/1.png answered 404"}]},
        {"index": 2, "media": [{"path": "file:///m/00002.png"}]},
    ]
    failed = failed_items(entries)
    assert failed == ["item 1 (cat): https://h/1.png answered 404"]
    message = failure_message(failed, "s3://bucket/media")
    assert message is not None
    assert "item 1 (cat)" in message
    assert "s3://bucket/media" in message
    assert failure_message([], "s3://bucket/media") is None


@pytest.mark.parametrize(
    "bad",
    [{"concurrency": 0}, {"attempts": 0}, {"max_bytes": 0}, {"on_error": "ignore"}, {"select": "image_url"}],
)
def test_bad_options_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each option has its own message
        MediaOptions(**bad)


def test_the_manifest_is_written_every_100_files_or_10_seconds() -> None:
    manifest = Manifest("c0ffee00")
    parts = [part for i in range(250) if (part := manifest.add(f"{i:05d}.png", "0" * 64, now=0.0))]
    assert [name for name, _ in parts] == ["SHA256SUMS.c0ffee00.0001", "SHA256SUMS.c0ffee00.0002"]
    assert parts[1][1].decode().splitlines()[0] == f"{'0' * 64}  00100.png"
    assert manifest.add("00250.png", "1" * 64, now=9.9) is None
    slow = manifest.add("00251.png", "2" * 64, now=10.0)  # 10 s after the first unwritten line
    assert slow is not None
    assert slow[0] == "SHA256SUMS.c0ffee00.0003"
    assert len(slow[1].decode().splitlines()) == 52
    assert manifest.take() is None


def test_only_whole_manifest_lines_count() -> None:
    text = f"{'a' * 64}  00001.png\n{'b' * 64} *00002.png\nnot a line\n{'c' * 64}  00003.pn"
    assert parse(text) == {"00001.png": {"a" * 64}, "00002.png": {"b" * 64}}
