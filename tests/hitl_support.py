"""Answering Airflow's human-in-the-loop questions from a test thread, as a person would (dag.test())."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

Answer = tuple[str, str, dict[str, Any]]
"""(how: "tab" or "rest", option, params)."""


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    """Airflow's API app, and an admin's bearer token for it."""
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        patch.setenv("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
        from airflow.api_fastapi.app import create_app
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        app = create_app()
        jwt = app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username="ada", role="admin"))
        with TestClient(app, headers={"Authorization": f"Bearer {jwt}"}) as client:
            yield client


class Responder:
    """Answers each question a DAG's task ``run`` puts, in turn, with the next of ``answers``.

    "rest" answers through Airflow's REST API (``PATCH .../hitlDetails``), "tab" through the outputs
    tab's recording (``plugins.review.record_answer``), which a review answer's ``decision`` validates.
    """

    def __init__(self, dag_id: str, answers: list[Answer], api: Any, inputs: int = 10, within: float = 180) -> None:
        self.dag_id, self.answers, self.api, self.inputs = dag_id, list(answers), api, inputs
        self.asked, self.errors, self.stop = 0, [], threading.Event()
        self.deadline = time.monotonic() + within
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.errors, self.errors

    def _run(self) -> None:
        while not self.stop.is_set() and self.answers:
            if (run_id := self._question()) is not None:
                self.asked += 1
                how, option, params = self.answers.pop(0)
                self._answer(how, option, params, run_id)
            if self.errors or time.monotonic() > self.deadline:
                self._give_up()
                return
            time.sleep(0.2)

    def _give_up(self) -> None:
        """Fail the DAG's parked task, so that dag.test(), which waits for an answer as long as it takes, ends."""
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import update

        self.errors.append(f"gave up on {self.dag_id} after {self.asked} answers")
        with create_session() as session:
            session.execute(
                update(TaskInstance)
                .where(TaskInstance.dag_id == self.dag_id, TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                .values(state=TaskInstanceState.FAILED)
            )

    def _question(self) -> str | None:
        """The run id of the DAG's task instance whose question is open."""
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            return session.scalars(
                select(TaskInstance.run_id)
                .join(HITLDetail, TaskInstance.id == HITLDetail.ti_id)
                .where(TaskInstance.dag_id == self.dag_id, HITLDetail.responded_at.is_(None))
            ).first()

    def _answer(self, how: str, option: str, params: dict[str, Any], run_id: str) -> None:
        if how == "rest":
            path = f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/run/-1/hitlDetails"
            response = self.api.patch(path, json={"chosen_options": [option], "params_input": params})
            if response.status_code != 200:
                self.errors.append(f"{response.status_code} {response.text}")
            return
        from airflow.utils.session import create_session

        from airflow_provider_runflow.batching.review import decision
        from airflow_provider_runflow.plugins.review import record_answer

        answer = decision(self.asked, [option], params, "Ada", None, inputs=self.inputs)
        with create_session() as session:
            record_answer(session, self.dag_id, run_id, "run", -1, answer, {"id": "ada", "name": "Ada"})
