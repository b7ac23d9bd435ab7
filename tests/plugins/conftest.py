"""Runs of the ``runflow_ui_scenarios`` DAGs (dag.test(), emulator) and Airflow's API app that serves the page."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from outputs_support import Runs, Ti, run_scenario

from airflow_provider_runflow.emulator import RunflowEmulator


@pytest.fixture(scope="package")
def runs(
    airflow_db: Path, runflow_emulator_session: RunflowEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    """Each scenario run once; files in their task's folder under a storage root, and results files elsewhere."""
    storage, outside = tmp_path_factory.mktemp("storage"), tmp_path_factory.mktemp("elsewhere")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_emulator_session.connection_json())
        patch.setenv("AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS", f"s3://elsewhere/runflow, {storage.as_uri()}/")
        media = {"media_dir": str(storage), "media_items": 5}

        def recorded(**conf: Any) -> Ti:
            return Ti("rf_ui_recorded", run_scenario("rf_ui_recorded", **conf))

        yield Runs(
            items=Ti("rf_ui_items", run_scenario("rf_ui_items")),
            failed=Ti("rf_ui_failed", run_scenario("rf_ui_failed", state="failed")),
            other=Ti("rf_ui_other", run_scenario("rf_ui_other", state="failed"), task_id="greet"),
            private=Ti("rf_ui_private", run_scenario("rf_ui_private")),
            jsonl=Ti("rf_ui_jsonl", run_scenario("rf_ui_jsonl", output_root=storage.as_uri())),
            mapped=Ti("rf_ui_mapped", run_scenario("rf_ui_mapped"), map_index=1),
            recorded=recorded(**media),
            recorded_jsonl=recorded(output_path=str(storage / "{folder}" / "r.jsonl"), **media),
            outside=recorded(output_path=str(outside / "r.jsonl")),
            elsewhere=recorded(output_path=str(storage / "r.jsonl")),
            storage=storage,
            api_key=runflow_emulator_session.api_key,
        )


@pytest.fixture(scope="package")
def app(runs: Runs) -> Iterator[Any]:
    """Airflow's API server app (``create_app``), with this provider's plugin found through its entry point."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        patch.setenv("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
        from airflow.api_fastapi.app import create_app

        yield create_app()
