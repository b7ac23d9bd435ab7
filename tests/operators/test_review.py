"""Review of a task's results (``review=``) through dag.test(), answered by a reviewer thread.

The reviewer answers as a person does: through the outputs tab's recording (``plugins.review``), or
through Airflow's own REST API (``PATCH .../hitlDetails`` of the real ``create_app()``). With the
default worker wait the task sees a tab answer while it waits on its worker (automation answering at
once); with none it parks in ``awaiting_input`` and the answer resumes it, as dag.test() allows.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_support import states, xcom

from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
Answer = tuple[str, str, dict[str, Any]]
"""(how: "tab" or "rest", option, params)."""
NOTHING = {"rejected": [], "changes": {}, "reason": ""}


def review_dag() -> Any:
    import importlib

    return importlib.import_module("runflow_review").DAGS["rf_review"]


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


class Reviewer:
    """Answers each question the DAG's task puts, in turn, with the next of ``answers``."""

    def __init__(self, answers: list[Answer], api: Any) -> None:
        self.answers, self.api, self.asked, self.stop = list(answers), api, 0, threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set() and self.answers:
            if (waiting := self._question()) is not None:
                self.asked += 1
                how, option, params = self.answers.pop(0)
                self._answer(how, option, params, *waiting)
            time.sleep(0.2)

    @staticmethod
    def _question() -> tuple[str, str] | None:
        """The (run id, state) of the review DAG's task instance whose question is open."""
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            row = session.execute(
                select(TaskInstance.run_id, TaskInstance.state)
                .join(HITLDetail, TaskInstance.id == HITLDetail.ti_id)
                .where(TaskInstance.dag_id == "rf_review", HITLDetail.responded_at.is_(None))
            ).first()
        return None if row is None else (str(row[0]), str(row[1]))

    def _answer(self, how: str, option: str, params: dict[str, Any], run_id: str, state: str) -> None:
        if how == "rest":
            path = f"/api/v2/dags/rf_review/dagRuns/{run_id}/taskInstances/run/-1/hitlDetails"
            response = self.api.patch(path, json={"chosen_options": [option], "params_input": params})
            if response.status_code != 200:
                self.errors.append(f"{response.status_code} {response.text}")
            return
        from airflow.utils.session import create_session

        from airflow_provider_runflow.batching.review import decision
        from airflow_provider_runflow.plugins.review import record_answer

        answer = decision(self.asked, [option], params, "Ada", None, inputs=10)
        with create_session() as session:
            record_answer(session, "rf_review", run_id, "run", -1, answer, {"id": "ada", "name": "Ada"})


@pytest.fixture
def reviewer(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    started: list[Reviewer] = []

    def start(*answers: Answer, worker_wait: float = 60) -> Reviewer:
        monkeypatch.setenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS", str(worker_wait))
        started.append(Reviewer(list(answers), api))
        started[-1].thread.start()
        return started[-1]

    yield start
    for one in started:
        one.stop.set()
        one.thread.join(10)
        assert not one.errors


def test_an_immediate_approval_in_the_tab_marks_every_entry_and_says_who_decided(
    runflow_connection: RunflowEmulator, reviewer: Any
) -> None:
    answered = reviewer(("tab", "Approve", {**NOTHING, "rejected": [3]}))
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 1
    entries = xcom(run, "run")
    assert [e["review"] for e in entries] == ["approved"] * 3 + ["rejected"] + ["approved"] * 6
    assert xcom(run, "ship") == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    [decision] = xcom(run, "run", key="summary")["review"]
    assert (decision["round"], decision["choice"], decision["by"], decision["rejected"]) == (1, "Approve", "Ada", [3])
    assert runflow_connection.counters()["batches_created"] == 1


def test_regenerated_items_run_again_with_their_changes_then_the_run_is_approved(
    runflow_connection: RunflowEmulator, reviewer: Any
) -> None:
    answered = reviewer(
        ("tab", "Regenerate rejected", {**NOTHING, "rejected": [2, 7], "changes": {"7": {"text": "a better poster"}}}),
        ("tab", "Approve", NOTHING),
    )
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 2
    entries = xcom(run, "run")
    assert [e["index"] for e in entries] == list(range(10))
    assert entries[7]["output"]["text"] == "A BETTER POSTER"  # the reviewer's prompt ran
    assert entries[2]["output"]["text"] == "POSTER 2"
    assert [(e["attempts"], e.get("review_round")) for e in entries if e["index"] in (2, 7)] == [(2, 1), (2, 1)]
    assert {e["attempts"] for e in entries if e["index"] not in (2, 7)} == {1}
    assert {e["review"] for e in entries} == {"approved"}
    batch_ids = xcom(run, "run", key="batch_ids")
    assert len(batch_ids) == 2
    assert entries[7]["batch_id"] == batch_ids[1]
    assert runflow_connection.counters()["batches_created"] == 2  # only the 2 rejected items ran again


def test_a_parked_task_resumed_by_airflows_rest_api_fails_naming_the_reviewer_and_reason(
    runflow_connection: RunflowEmulator, reviewer: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    reviewer(("rest", "Reject run", {**NOTHING, "reason": "wrong brand colours"}), worker_wait=0)
    run = review_dag().test()

    assert states(run)[("run", -1)] == "failed"
    log = capfd.readouterr().out
    assert "The run was rejected in review round 1: Reject run by ada" in log
    assert "wrong brand colours" in log


def test_an_answer_that_cannot_be_acted_on_is_asked_again(runflow_connection: RunflowEmulator, reviewer: Any) -> None:
    answered = reviewer(
        ("rest", "Regenerate rejected", {**NOTHING, "rejected": [42]}),
        ("rest", "Approve", NOTHING),
        worker_wait=0,
    )
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 2
    assert runflow_connection.counters()["batches_created"] == 1


def test_past_max_rounds_regenerating_fails_the_run(runflow_connection: RunflowEmulator, reviewer: Any) -> None:
    again = ("tab", "Regenerate rejected", {**NOTHING, "rejected": [1]})
    reviewer(again, again, worker_wait=0)
    run = review_dag().test()

    assert states(run)[("run", -1)] == "failed"
    assert runflow_connection.counters()["batches_created"] == 2  # max_rounds=1: one regeneration
