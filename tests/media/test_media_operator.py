"""RunflowBatchOperator with media_path, through dag.test() against the emulator's media origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow_support import asset_events, xcom
from media_support import (
    assert_images_stored,
    assert_manifest_checks,
    assert_no_runflow_credentials,
    completed_downloads,
    local,
    media_dag,
)

from airflow_provider_runflow.client import build_batch_request, calls
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.hooks.runflow import RunflowHook

pytestmark = pytest.mark.usefixtures("airflow_db")


def task_folder(root: Path, run_id: str, dag_id: str) -> Path:
    [folder] = [path for path in (root / dag_id).iterdir() if path.is_dir()]
    return folder / "run"


@pytest.mark.parametrize("mode", ["deferred", "blocking"])
def test_250_images_are_stored_in_order_with_checksums(
    media_emulator: RunflowEmulator, media_folder: Path, mode: str
) -> None:
    run = media_dag(f"rf_media_{mode}").test()
    assert run.state == "success"
    entries = xcom(run, "run")
    assert [entry["index"] for entry in entries] == list(range(250))
    folder = task_folder(media_folder, run.run_id, f"rf_media_{mode}")
    assert_images_stored(entries, folder)
    assert len(list(folder.glob("*.png"))) == 250
    assert_manifest_checks(folder)
    assert set(completed_downloads(media_emulator).values()) == {1}
    assert_no_runflow_credentials(media_emulator)


def test_media_of_re_run_items_are_copied_once_from_their_last_attempt(
    media_emulator: RunflowEmulator, media_folder: Path
) -> None:
    run = media_dag("rf_media_rerun").test()
    assert run.state == "success"
    entries = xcom(run, "run")
    assert [entry["attempts"] for entry in entries] == [2 if i % 5 == 0 else 1 for i in range(30)]
    folder = task_folder(media_folder, run.run_id, "rf_media_rerun")
    assert_images_stored(entries, folder)
    assert len(list(folder.glob("*.png"))) == 30
    assert set(completed_downloads(media_emulator).values()) == {1}


def test_media_with_output_path_are_recorded_in_the_json_lines(
    media_emulator: RunflowEmulator, media_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_OUTPUT_PATH", f"file://{tmp_path}/results.jsonl")
    run = media_dag("rf_media_jsonl").test()
    assert run.state == "success"
    assert xcom(run, "run")["items"] == 120
    entries = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    folder = task_folder(media_folder, run.run_id, "rf_media_jsonl")
    assert_images_stored(entries, folder)
    [event] = [e for e in asset_events("rf-media-jsonl") if e["run_id"] == run.run_id]
    assert Path(event["extra"]["media_folder"].removeprefix("file://")) == folder  # where a consumer reads them
    assert event["extra"]["media_path"] != event["extra"]["media_folder"]


def test_20_percent_media_faults_all_stored_none_twice(media_emulator: RunflowEmulator, media_folder: Path) -> None:
    # Five kinds at 4.5% each: about one download in five (1 - 0.955^5) meets a fault.
    kinds = (FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE, FaultKind.BAD_GATEWAY, FaultKind.DROP_CONNECTION)
    rules = [FaultRule(kind=kind, probability=0.045) for kind in kinds]
    media_emulator.set_media_faults([*rules, FaultRule(kind=FaultKind.DELAY, probability=0.045, delay=0.3)])
    run = media_dag("rf_media_deferred").test()
    assert run.state == "success"
    entries = xcom(run, "run")
    folder = task_folder(media_folder, run.run_id, "rf_media_deferred")
    assert_images_stored(entries, folder)
    statuses = [request["status"] for request in media_emulator.media_requests()]
    assert {"500", "502", "503", "dropped"} <= set(statuses)
    assert len(statuses) - statuses.count("200") >= 25  # at least 10% of the 250 first tries failed
    downloads = completed_downloads(media_emulator)
    assert len(downloads) == 250
    assert set(downloads.values()) == {1}
    assert sorted(path.name for path in folder.iterdir() if path.suffix == ".png") == [
        f"{i:05d}.png" for i in range(250)
    ]


def test_a_retried_task_downloads_nothing_again(media_emulator: RunflowEmulator, media_folder: Path) -> None:
    media_emulator.set_media_faults([FaultRule(kind=FaultKind.SERVER_ERROR, times=1)])
    run = media_dag("rf_media_retry").test()
    assert run.state == "success"
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == "run"]
    assert ti.try_number == 2
    folder = task_folder(media_folder, run.run_id, "rf_media_retry")
    assert_images_stored(xcom(run, "run"), folder)
    assert_manifest_checks(folder)
    # 249 files copied by the first try, the one refused then copied by the retry: each served once.
    downloads = completed_downloads(media_emulator)
    assert len(downloads) == 250
    assert set(downloads.values()) == {1}
    assert media_emulator.counters()["batches_created"] == 3


def test_media_failure_under_continue_keeps_every_result(media_emulator: RunflowEmulator, media_folder: Path) -> None:
    media_emulator.set_media_faults([FaultRule(kind=FaultKind.BAD_GATEWAY, times=2)])
    run = media_dag("rf_media_continue").test()
    assert run.state == "success"
    entries = xcom(run, "run")
    assert len(entries) == 10
    failed = [entry for entry in entries if entry["media"][0].get("error")]
    assert len(failed) == 2
    for entry in failed:
        assert entry["status"] == "succeeded"
        assert entry["output"]["image_url"]
        assert "answered 502" in entry["media"][0]["error"]
        assert entry["media"][0]["path"] is None
        assert "signature" not in entry["media"][0]["error"]
    stored = [entry for entry in entries if entry not in failed]
    assert all(local(entry["media"][0]["path"]).exists() for entry in stored)


def test_media_of_batches_a_sensor_waited_for_are_kept(
    media_emulator: RunflowEmulator, media_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RunflowHook().get_conn() as client:
        inputs = [{"prompt": f"dog {i}", "width": 16, "height": 16, "client_ref": f"dog-{i}"} for i in range(5)]
        batch_ids = [
            client.send(calls.create_batch("acme/image-gen", build_batch_request(inputs))).id for _ in range(2)
        ]
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_BATCH_IDS", json.dumps(batch_ids))
    run = media_dag("rf_media_after_sensor").test()
    assert run.state == "success"
    entries = xcom(run, "keep")
    assert [entry["index"] for entry in entries] == list(range(10))
    assert [entry["client_ref"] for entry in entries] == [f"dog-{i}" for i in range(5)] * 2
    [folder] = (media_folder / "rf_media_after_sensor").iterdir()
    assert_images_stored(entries, folder / "keep")
    assert_no_runflow_credentials(media_emulator)
