"""Airflow's real API app with the provider's plugins, a task instance with stored media, and hostile ones."""

from __future__ import annotations

import importlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from security.attacks import OutputsTarget, Planted, ReceiverTarget, callers, hostile_task_instances

WEBHOOK_SECRET = "whsec_attacks_0123456789abcdef"
CONN_ID = "runflow_attacks"


@dataclass(frozen=True)
class Surfaces:
    """The app under attack, and what the attack tables need of it."""

    app: Any
    outputs: OutputsTarget
    receiver: ReceiverTarget
    root: Path
    secret_file: Path

    def token(self, username: str, role: str | None = "viewer") -> str:
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        jwt: str = self.app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))
        return jwt


def run_dag(dag_id: str, **conf: Any) -> str:
    """A run of a ``runflow_ui_scenarios`` DAG with dag.test(), which must succeed; its run id."""
    run = importlib.import_module("runflow_ui_scenarios").DAGS[dag_id].test(run_conf=conf or None)
    assert run.state == "success", f"{dag_id}: {run.state}"
    return str(run.run_id)


@pytest.fixture(scope="package")
def surfaces(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    root, elsewhere = tmp_path_factory.mktemp("ui-root"), tmp_path_factory.mktemp("elsewhere")
    secret_file = elsewhere / "airflow.cfg"
    secret_file.write_text("[database]\nsql_alchemy_conn = postgresql://airflow:hunter2@db/airflow\n")
    connection = {"conn_type": "runflow", "host": "https://runflow.test", "password": "rf_live_unused",
                  "extra": {"callback_secrets": WEBHOOK_SECRET}}  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS", root.as_uri())
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        patch.setenv("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
        from airflow.api_fastapi.app import create_app

        legit = {"dag_id": "rf_ui_recorded", "task_id": "run", "map_index": -1}
        legit["run_id"] = run_dag("rf_ui_recorded", count=2, media_dir=str(root), media_items=2)
        app = create_app()
        surfaces = Surfaces(app, OutputsTarget({}, {}), ReceiverTarget("/runflow-callbacks/{conn_id}", CONN_ID,
                            WEBHOOK_SECRET), root, secret_file)  # fmt: skip
        admin = {"Authorization": f"Bearer {surfaces.token('attacker', 'admin')}"}
        other_file = next(root.rglob("00000.png")).as_uri()
        hostile = hostile_task_instances(
            TestClient(app), admin, run_dag("rf_ui_hostile"), root,
            lambda folder: Planted(folder, other_file, secret_file.as_uri()),
        )  # fmt: skip
        yield replace(surfaces, outputs=OutputsTarget({"legit": legit, **hostile}, callers(surfaces.token("viewer"))))
