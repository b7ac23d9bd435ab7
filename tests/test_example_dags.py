"""The example DAGs run as documented, through dag.test() against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_support import scenario, states, xcom
from hitl_support import Responder

from airflow_provider_runflow.client import ClientConfig, RunflowClient, build_batch_request, calls
from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.parametrize("dag_id", ["example_runflow_batch", "example_runflow_batch_taskflow"])
def test_example_runflow_batch_fans_out_every_image(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dag_id: str
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_RUNFLOW_MEDIA_PATH", f"file://{tmp_path}")
    run = scenario(dag_id).test(run_conf={"count": 6})  # the operator, and its TaskFlow twin
    assert run.state == "success"
    publish = {k: v for k, v in states(run).items() if k[0] == "publish"}
    assert set(publish.values()) == {"success"}
    published = [xcom(run, "publish", map_index=i) for i in range(len(publish))]
    stored = sorted(tmp_path.rglob("*.png"))
    assert published == [f"lighthouse-{i}: file://{path}" for i, path in enumerate(stored)]
    report = xcom(run, "report")
    assert (report["published"], report["total"], report["succeeded"]) == (6, 6, 6)


def test_example_runflow_large_batch_writes_1000_results_in_order(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNFLOW_EXAMPLE_OUTPUT_DIR", str(tmp_path))
    run = scenario("example_runflow_large_batch").test()
    assert run.state == "success"
    manifest = xcom(run, "generate")
    assert manifest["items"] == 1000
    assert len(manifest["batch_ids"]) == 10
    assert runflow_connection.counters()["batches_created"] == 10
    [written] = tmp_path.rglob("results.jsonl")
    assert manifest["output_path"].endswith(str(written))
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert [line["client_ref"] for line in lines] == [f"sku-{i}" for i in range(1000)]


def test_example_runflow_sensor_waits_for_batches_from_the_run_conf(runflow_connection: RunflowEmulator) -> None:
    with RunflowClient(ClientConfig(api_key=runflow_connection.api_key, base_url=runflow_connection.url)) as client:
        request = build_batch_request([{"prompt": f"p{i}"} for i in range(4)])
        batch_ids = [client.send(calls.create_batch("acme/image-gen", request)).id for _ in range(2)]
    run = scenario("example_runflow_sensor").test(run_conf={"batch_ids": batch_ids})
    assert run.state == "success"
    summary = xcom(run, "wait_for_batches")
    assert (summary["total"], summary["succeeded"], summary["batch_ids"]) == (8, 8, batch_ids)


def test_example_runflow_media_stores_images_and_hands_paths_downstream(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNFLOW_EXAMPLE_MEDIA_PATH", f"file://{tmp_path}")
    run = scenario("example_runflow_media").test(run_conf={"count": 6})
    assert run.state == "success"
    measured = [xcom(run, "measure", map_index=i) for i in range(6)]
    assert [(m["width"], m["height"]) for m in measured] == [(256, 256)] * 6
    stored = sorted(tmp_path.rglob("*.png"))
    assert [path.name for path in stored] == [f"{i:05d}.png" for i in range(6)]
    assert [m["path"] for m in measured] == [f"file://{path}" for path in stored]
    assert xcom(run, "report") == {"images": 6, "folder": f"file://{stored[0].parent}"}


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="review= needs Airflow 3.3 (awaiting_input)")
def test_example_runflow_review_regenerates_the_rejected_with_a_new_prompt_then_ships_the_approved(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: Any
) -> None:
    monkeypatch.setenv("RUNFLOW_EXAMPLE_OUTPUT_DIR", str(tmp_path))
    new_prompt = {"prompt": "a ceramic mug on oak, product shot 4", "width": 256, "height": 256}
    regenerate = ("rest", "Regenerate rejected", {"rejected": [1, 4], "changes": {"4": new_prompt}, "reason": ""})
    approve = ("rest", "Approve", {"rejected": [5], "changes": {}, "reason": "5 has a chipped rim"})
    person = Responder("example_runflow_review", [regenerate, approve], api, inputs=6, task_id="generate_images")

    run = scenario("example_runflow_review").test(run_conf={"count": 6})
    person.close()

    assert run.state == "success"
    shipped = xcom(run, "publish")
    assert [(s["index"], s["review_round"]) for s in shipped] == [(0, None), (1, 1), (2, None), (3, None), (4, 1)]
    assert all(s["image"].startswith(f"file://{tmp_path}/media/") for s in shipped)
    assert runflow_connection.counters()["batches_created"] == 2
