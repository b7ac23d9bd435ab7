"""Airflow's API app with the plugin mounted, users with real JWTs, and the task instances the tests read."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PREFIX = "/runflow-outputs"


@dataclass(frozen=True)
class Ti:
    """A task instance a test reads: its DAG, run, task and map index."""

    dag_id: str
    run_id: str
    task_id: str = "run"
    map_index: int | str = -1

    def query(self, **extra: Any) -> str:
        params = {"dag_id": self.dag_id, "run_id": self.run_id, "task_id": self.task_id, "map_index": self.map_index}
        return urlencode(params | extra)

    def url(self, route: str, **extra: Any) -> str:
        return f"{PREFIX}/{route}?{self.query(**extra)}"

    def folder(self) -> str:
        """The task instance's folder of the media layout, under a storage root."""
        from airflow_provider_runflow.media.layout import MediaScope

        return MediaScope(self.dag_id, self.run_id, self.task_id, int(self.map_index)).folder()


def token(app: Any, role: str | None, teams: list[str] | None = None) -> str:
    """A JWT the way Airflow's login issues it, signed with the API's secret, for a SimpleAuthManager user."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    user = SimpleAuthManagerUser(username=f"{role}-{'-'.join(teams or [])}", role=role, teams=teams)
    jwt: str = app.state.auth_manager.generate_jwt(user)
    return jwt


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


@dataclass(frozen=True)
class Runs:
    """The task instances the tests read, and where their files are."""

    items: Ti
    failed: Ti
    other: Ti
    private: Ti
    jsonl: Ti
    mapped: Ti
    recorded: Ti
    recorded_jsonl: Ti
    outside: Ti
    elsewhere: Ti
    """Its results file is under the storage root, but not in its own folder."""
    storage: Path
    api_key: str

    def media_file(self, ti: Ti, index: int) -> Path:
        """Where ``rf_ui_recorded`` stored item ``index``'s image for ``ti``."""
        return self.storage / ti.folder() / f"{index:05d}.png"


def run_scenario(dag_id: str, state: str = "success", **conf: Any) -> str:
    """Run a DAG of ``runflow_ui_scenarios`` with dag.test(), expecting ``state``; its run id."""
    dag = importlib.import_module("runflow_ui_scenarios").DAGS[dag_id]
    run = dag.test(run_conf=conf or None)
    assert run.state == state, f"{dag_id}: {run.state}"
    return str(run.run_id)
