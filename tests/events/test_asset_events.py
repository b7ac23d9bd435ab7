"""The asset events a successful operator or ``@task.runflow_batch`` emits, their ``extra``, and none from a
failed task (dag.test())."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow_support import asset_events, xcom
from events_support import events_dag

from airflow_provider_runflow.assets.runflow import model_asset_uri
from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_producer_records_the_run_on_its_asset_and_the_models_asset_and_the_consumer_reads_it(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNFLOW_EXAMPLE_OUTPUT_DIR", str(tmp_path))
    model_uri = model_asset_uri(runflow_connection.url, "acme/image-gen")
    before = len(asset_events(model_uri))

    run = events_dag("example_runflow_assets_producer").test()

    assert run.state == "success"
    summary, manifest = xcom(run, "generate", "summary"), xcom(run, "generate")
    expected = {
        "source": "runflow",
        "model": "acme/image-gen",
        "batch_ids": summary["batch_ids"],
        "counts": {"total": 6, "succeeded": 6, "failed": 0, "cancelled": 0, "skipped": 0, "other": 0},
        "cost": summary["cost"],
        "max_cost": None,
        "results": "output_path",
        "output_path": manifest["output_path"],
        "media_path": None,
        "media_folder": None,
    }
    [event] = [e for e in asset_events("runflow-product-shots") if e["run_id"] == run.run_id]
    assert event == {"extra": expected, "dag_id": "example_runflow_assets_producer", "run_id": run.run_id}
    assert [e["extra"] for e in asset_events(model_uri)[before:]] == [expected]

    consumed = events_dag("example_runflow_assets_consumer").test()

    assert consumed.state == "success"
    captioned = xcom(consumed, "caption")
    assert captioned == {"batch_ids": summary["batch_ids"], "captioned": 6, "counts": expected["counts"]}


@pytest.mark.parametrize(
    ("dag_id", "asset"), [("rf_events_in_xcom", "rf-events-in-xcom"), ("rf_events_taskflow", "rf-events-taskflow")]
)
def test_results_kept_in_xcom_are_said_so_with_the_failed_items_counted(
    runflow_connection: RunflowEmulator, dag_id: str, asset: str
) -> None:
    run = events_dag(dag_id).test()  # the operator, and @task.runflow_batch

    assert run.state == "success"
    [event] = [e for e in asset_events(asset) if e["run_id"] == run.run_id]
    extra = event["extra"]
    assert (extra["results"], extra["output_path"], extra["media_path"]) == ("xcom", None, None)
    assert extra["counts"] == {"total": 5, "succeeded": 4, "failed": 1, "cancelled": 0, "skipped": 0, "other": 0}
    assert len(extra["batch_ids"]) == 3
    assert extra["batch_ids"] == xcom(run, "run", "batch_ids")
    model_events = asset_events(model_asset_uri(runflow_connection.url, "acme/test-model"))
    assert [e["extra"] for e in model_events if e["run_id"] == run.run_id] == [extra]


def test_each_mapped_task_instance_records_its_own_batches(runflow_connection: RunflowEmulator) -> None:
    run = events_dag("rf_events_mapped").test()

    assert run.state == "success"
    events = [e["extra"] for e in asset_events("rf-events-mapped") if e["run_id"] == run.run_id]
    assert sorted((e["batch_ids"], e["counts"]["total"]) for e in events) == sorted(
        (xcom(run, "run", "batch_ids", map_index=k), total) for k, total in enumerate((2, 3))
    )


def test_a_failed_task_emits_no_event(runflow_connection: RunflowEmulator) -> None:
    run = events_dag("rf_events_failing").test()

    assert run.state == "failed"
    assert xcom(run, "run", "summary")["failed"] == 1
    assert [e for e in asset_events("rf-events-failing") if e["run_id"] == run.run_id] == []
