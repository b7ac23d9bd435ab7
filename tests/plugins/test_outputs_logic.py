"""The page's pure decisions: which files lie under a storage root, when Runflow URLs expire, what a page reads."""

from __future__ import annotations

import datetime
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.plugins.entries import EntriesError, PageRequest, bucket, jsonl_entry, jsonl_page
from airflow_provider_runflow.plugins.media import media_kind, url_expiry, url_previews
from airflow_provider_runflow.plugins.storage import StoragePolicy, parse_roots

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


SCOPE = MediaScope("dag", "manual__2026-06-01T12:00:00+00:00", "run")
"""Its folder: ``dag/manual__2026-06-01T12_00_00_00_00-<hash>/run`` as the copier names it, or the names as they are."""
SAFE = SCOPE.folder()
RAW = "dag/manual__2026-06-01T12:00:00+00:00/run"


@pytest.mark.parametrize(
    ("uri", "readable"),
    [
        (f"s3://media/runflow/{SAFE}/00001.png", True),
        (f"s3://media/runflow/{RAW}/results.jsonl", True),
        (f"s3://media/runflow/images/{SAFE}/00001.png", True),  # media_path a folder of the root
        (f"s3://media/runflow/{SAFE}/sub/00001.png", False),  # in a folder of its folder
        ("s3://media/runflow/dag/other-run/run/00001.png", False),  # another run's folder
        ("s3://media/runflow/other-dag/manual__2026-06-01T12:00:00+00:00/run/x.png", False),  # another DAG's
        (f"s3://media/runflow/{RAW}/0/x.png", False),  # a mapped task instance's folder
        (f"s3://media/runflow/{SAFE}/run/x.png", False),  # a folder named like the task under it
        ("s3://media/runflow/dag/x.png", False),  # above it
        (f"s3://media/runflow/{SAFE}", False),  # the folder itself is no file
        (f"s3://aws_media@media/runflow/{SAFE}/x.png", False),  # another connection is another root
        (f"s3://media/runflow-other/{SAFE}/x.png", False),  # a sibling that shares the prefix
        (f"s3://media/runflow/{SAFE}/../../x.png", False),
        (f"s3://media/runflow/{SAFE}/./x.png", False),
        (f"s3://media/runflow/{SAFE}//x.png", False),
        (f"s3://media/runflow/{SAFE}/x.png?versionId=1", False),
        (f"S3://media/runflow/{SAFE}/x.png", True),
        (f"gs://media/runflow/{SAFE}/x.png", False),
        (f"https://media/runflow/{SAFE}/x.png", False),
        (f"/data/runflow/{SAFE}/x.png", False),
        (f"file:///data/runflow/{SAFE}/x.png", True),
        (f"file:///data/runflow/{SAFE}\\..\\x.png", False),
        ("file:///shared/team/anything.jsonl", True),  # under a shared root: wherever
        ("file:///shared/team", False),
    ],
)
def test_a_task_instance_reads_only_its_own_folder_under_a_root_or_a_shared_root(uri: str, readable: bool) -> None:
    policy = StoragePolicy.parse(" s3://media/runflow/ ,file:///data/runflow", shared="file:///shared/team/")

    assert policy.may_read(uri, SCOPE) is readable


def test_a_mapped_task_instance_reads_only_its_map_index_folder() -> None:
    policy, mapped = StoragePolicy.parse("s3://media/runflow"), MediaScope("dag", "run1", "run", 3)

    assert policy.may_read("s3://media/runflow/dag/run1/run/3/00000.png", mapped)
    assert not policy.may_read("s3://media/runflow/dag/run1/run/4/00000.png", mapped)
    assert not policy.may_read("s3://media/runflow/dag/run1/run/00000.png", mapped)


def test_a_symlinked_folder_or_file_does_not_lead_out_of_a_local_root(tmp_path: Any) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "dag" / "run1" / "run").mkdir(parents=True)
    (outside / "dag" / "run1" / "run" / "x.png").write_bytes(b"x")
    (root / "media").mkdir(parents=True)
    (root / "media" / "dag").symlink_to(outside / "dag")
    (root / "dag" / "run1" / "run").mkdir(parents=True)
    (root / "dag" / "run1" / "run" / "y.png").symlink_to(outside / "dag" / "run1" / "run" / "x.png")
    policy, scope = StoragePolicy.parse(root.as_uri()), MediaScope("dag", "run1", "run")

    assert not policy.may_read(f"{root.as_uri()}/media/dag/run1/run/x.png", scope)
    assert not policy.may_read(f"{root.as_uri()}/dag/run1/run/y.png", scope)


@pytest.mark.parametrize("setting", ["https://cdn/x", "relative/path", "s3://bucket/../x", "", " , "])
def test_unusable_roots_are_ignored(setting: str) -> None:
    assert parse_roots(setting) == ()


@pytest.mark.parametrize(
    ("url", "expires"),
    [
        ("https://b.s3.amazonaws.com/x.png?X-Amz-Date=20260601T110000Z&X-Amz-Expires=3600&X-Amz-Signature=s",
         datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)),
        ("https://storage.googleapis.com/x.mp4?x-goog-date=20260601T000000Z&x-goog-expires=60",
         datetime.datetime(2026, 6, 1, 0, 1, tzinfo=datetime.UTC)),
        ("https://cdn.example/x.png?Expires=1780315200&Signature=s",
         datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)),
        ("https://cdn.example/x.png", None),
        ("https://cdn.example/x.png?X-Amz-Date=garbage&X-Amz-Expires=60", None),
    ],
)  # fmt: skip
def test_presigned_urls_say_when_they_expire(url: str, expires: datetime.datetime | None) -> None:
    assert url_expiry(url) == expires


def test_runflow_urls_are_shown_inline_only_over_https_and_until_they_expire() -> None:
    output: dict[str, Any] = {
        "image_url": "https://cdn.example/a.png",
        "frames": [{"video_url": "https://cdn.example/b.mp4?Expires=1780311600"}],
        "preview": "http://cdn.example/c.jpg",
        "page": "https://cdn.example/report",
        "caption": "https://is text too",
    }

    found = [(p.kind, p.src, p.note) for p in url_previews(output, NOW)]

    # In the order Runflow returned them, as the media copier finds them; text with spaces is no URL.
    assert found == [
        ("image", "https://cdn.example/a.png", None),
        ("link", None, "Runflow URL expired at 2026-06-01 11:00 UTC"),
        ("link", "http://cdn.example/c.jpg", None),
        ("link", "https://cdn.example/report", None),
    ]


@pytest.mark.parametrize(
    ("name", "kind"),
    [("image/png", "image"), ("video/mp4", "video"), ("https://x/a.JPG?sig=1", "image"), ("s3://b/v.webm", "video"),
     ("https://x/a", "link"), ("application/json", "link")],
)  # fmt: skip
def test_media_kind_comes_from_the_content_type_or_the_name(name: str, kind: str) -> None:
    assert media_kind(name) == kind


@pytest.mark.parametrize(("status", "found"), [("succeeded", "succeeded"), ("Canceled", "cancelled"),
                                               ("errored", "other"), (None, "other"), (3, "other")])  # fmt: skip
def test_item_statuses_fall_in_the_summarys_buckets(status: Any, found: str) -> None:
    assert bucket(status) == found


class Lines:
    """A file's lines that count how many were read."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.read = lines, 0

    def __iter__(self) -> Any:
        for line in self.lines:
            self.read += 1
            yield line


def test_an_unfiltered_page_of_json_lines_reads_no_further_than_that_page() -> None:
    lines = Lines([f'{{"index": {i}, "status": "succeeded"}}\n' for i in range(10_000)])

    page = jsonl_page(iter(lines), PageRequest(page=2, per_page=50))

    assert [entry["index"] for entry in page] == list(range(50, 100))
    assert lines.read == 100


def test_a_broken_line_is_named_by_number_without_its_content() -> None:
    lines = ['{"index": 0}\n', "password=hunter2\n"]

    with pytest.raises(EntriesError, match=r"^line 2 is not JSON$"):
        jsonl_page(iter(lines), PageRequest())
    assert jsonl_entry(iter(lines), 0) == {"index": 0}


def test_loading_the_plugins_imports_no_web_framework() -> None:
    """Task processes load every plugin: the FastAPI apps are imported by the api-server's first request only."""
    code = (
        "import sys; from airflow_provider_runflow.plugins.runflow_outputs import RunflowOutputsPlugin; "
        "from airflow_provider_runflow.plugins.runflow_callbacks import RunflowCallbacksPlugin; "
        "print(sorted(m for m in ('fastapi', 'airflow.api_fastapi.core_api.security') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"
