"""Answering Airflow's human-in-the-loop questions from a test thread, as a person would (dag.test())."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

Answer = tuple[str, str, dict[str, Any]]
"""(how: "tab", "rest" or "tab, try lost", option, params)."""


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
    """Answers each question a DAG's task (``run``) puts, in turn, with the next of ``answers``.

    "rest" answers through Airflow's REST API (``PATCH .../hitlDetails``), "tab" through the outputs
    tab's recording (``plugins.review.record_answer``), which a review answer's ``decision`` validates.
    """

    def __init__(
        self, dag_id: str, answers: list[Answer], api: Any, inputs: int = 10, within: float = 180, task_id: str = "run"
    ) -> None:
        self.dag_id, self.task_id, self.answers, self.api, self.inputs = dag_id, task_id, list(answers), api, inputs
        self.asked, self.errors, self.stop = 0, [], threading.Event()
        self.deadline = time.monotonic() + within
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.errors, self.errors

    def _run(self) -> None:
        while not self.stop.is_set():
            if (run_id := self._question()) is not None:
                # dag.test() writes the parked state back once the task has returned, over a resume an
                # answer within those milliseconds made; a person (or a script polling the API) is slower.
                time.sleep(1)
                self.asked += 1
                if not self.answers:
                    self.errors.append(f"question {self.asked} was not expected")
                else:
                    self._answer(*self.answers.pop(0), run_id)
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
        """The run id of the DAG's task instance that waits for an answer to its open question.

        Answered only once the task is parked, as Airflow's UI shows it.
        """
        found = open_question(self.dag_id)
        return None if found is None or found[2] != "awaiting_input" else found[0]

    def _answer(self, how: str, option: str, params: dict[str, Any], run_id: str) -> None:
        if how == "rest":
            path = f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/{self.task_id}/-1/hitlDetails"
            response = self.api.patch(path, json={"chosen_options": [option], "params_input": params})
            if response.status_code != 200:
                self.errors.append(f"{response.status_code} {response.text}")
            return
        from airflow.utils.session import create_session

        from airflow_provider_runflow.batching.review import decision
        from airflow_provider_runflow.plugins.review import record_answer
        from airflow_provider_runflow.plugins.task_record import TaskKey

        answer = decision(self.asked, [option], params, "Ada", None, inputs=self.inputs)
        with create_session() as session:
            record_answer(session, TaskKey(self.dag_id, run_id, self.task_id, -1), answer, {"id": "ada", "name": "Ada"})
            if how == "tab, try lost":
                self._lose_the_try(session, run_id)

    def _lose_the_try(self, session: Any, run_id: str) -> None:
        """What Airflow's scheduler does to a task resumed moments after it parked (docs/review.md): fail the try.

        In the answer's transaction, so that the resumed try never runs; the task has a retry left.
        """
        from airflow.models.taskinstance import TaskInstance
        from airflow.sdk.timezone import utcnow
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import update

        session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == self.task_id
            )
            .values(state=TaskInstanceState.UP_FOR_RETRY, end_date=utcnow(), next_method=None, next_kwargs=None)
        )


def open_question(dag_id: str) -> tuple[str, str, str] | None:
    """(run id, task id, state) of a task instance of ``dag_id`` whose review question waits for an answer."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state)
            .join(HITLDetail, TaskInstance.id == HITLDetail.ti_id)
            .where(TaskInstance.dag_id == dag_id, HITLDetail.responded_at.is_(None))
        ).first()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def ask_review(ti: dict[str, Any], assigned: tuple[str, ...] = ()) -> None:
    """Put a review question to task instance ``ti`` as the operator does, without running it.

    Airflow's record of the question (assigned to the user ids ``assigned``; any earlier one and its
    answer replaced), and the task parked in ``awaiting_input`` a minute ago. Its ``summary`` XCom
    (``{"total": ..., "review": []}``) is the caller's to plant.
    """
    import datetime

    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    from airflow_provider_runflow.batching.review import OPTIONS
    from airflow_provider_runflow.steps.review import review_params

    where = [getattr(TaskInstance, name) == ti[name] for name in ("dag_id", "run_id", "task_id", "map_index")]
    with create_session() as session:
        row = session.scalars(select(TaskInstance).where(*where)).one()
        row.state = "awaiting_input"
        row.updated_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
        session.execute(delete(HITLDetail).where(HITLDetail.ti_id == row.id))
        session.add(
            HITLDetail(
                ti_id=row.id,
                options=OPTIONS,
                subject=f"Review the Runflow outputs of {row.task_id}",
                multiple=False,
                params=review_params(),
                assignees=[{"id": user, "name": user} for user in assigned],
            )
        )
