"""Reviewing in the "Runflow outputs" tab, on Airflow's real ``create_app()``, while dag.test() runs the task.

The DAG (``rf_review``: 10 texts, ``review=RunflowReview(max_rounds=1)``) runs in a thread; the test's
thread is the reviewer: a browser session (Airflow's cookie, the page's origin and token), or
automation with a bearer token. The page is read as the browser gets it, the form posted as the
browser posts it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_support import xcom
from fastapi.testclient import TestClient
from hitl_support import open_question
from markupsafe import escape
from outputs_support import Ti, form_of, post_form, token

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.plugins.review_view import NOT_ALLOWED

pytestmark = [
    pytest.mark.airflow_db,
    pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="review= needs Airflow 3.3 (awaiting_input)"),
]
DAG_ID = "rf_review"


def asked(review_round: int, state: str, timeout: float = 60) -> Ti:
    """The task instance once it asks ``review_round`` and is ``state`` (running: on its worker; or parked)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = open_question(DAG_ID)
        if found and found[2] == state and len(summary(Ti(DAG_ID, found[0])).get("review", [None])) == review_round - 1:
            return Ti(DAG_ID, found[0])
        time.sleep(0.05)
    raise AssertionError(f"round {review_round} was not asked ({state}) within {timeout} s")


@contextmanager
def reviewing(review: Callable[[], None]) -> Iterator[None]:
    """Run ``review`` in a thread while the ``with`` body runs the DAG (dag.test() needs the main thread).

    If the review fails, the run is ended (its question answered "Reject run") so that dag.test() returns;
    the failure is raised once the body is done.
    """
    failures: list[BaseException] = []

    def run() -> None:
        try:
            review()
        except BaseException as err:
            failures.append(err)
            reject_every_question()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    thread.join(60)
    if failures:
        raise failures[0]


def reject_every_question(seconds: float = 20) -> None:
    from airflow.utils.session import create_session

    from airflow_provider_runflow.batching.review import Decision
    from airflow_provider_runflow.plugins.review import record_answer
    from airflow_provider_runflow.plugins.task_record import TaskKey

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := open_question(DAG_ID)) is not None:
            with create_session() as session, suppress(Exception):
                answer = Decision(0, "Reject run", reason="the test's review failed")
                record_answer(session, TaskKey(DAG_ID, found[0], found[1], -1), answer, {"id": "test", "name": "test"})
        time.sleep(0.5)


def run_review_dag() -> Any:
    import importlib

    return importlib.import_module("runflow_review").DAGS[DAG_ID].test()


def summary(ti: Ti) -> dict[str, Any]:
    from airflow.models.dagrun import DagRun

    return xcom(DagRun(dag_id=ti.dag_id, run_id=ti.run_id), ti.task_id, key="summary") or {"review": [None]}


@pytest.fixture
def reviewer(app: Any) -> Iterator[TestClient]:
    """A browser session of ``reviewer`` (Airflow's "user" role): the login cookie, and the tab's origin."""
    with TestClient(app, cookies={"_token": token(app, "user")}, follow_redirects=False) as client:
        client.headers["Origin"] = "http://testserver"
        yield client


def page_of(client: TestClient, ti: Ti) -> str:
    response = client.get(ti.url("outputs"))
    assert response.status_code == 200
    return response.text


def test_a_reviewer_regenerates_two_rejected_items_with_a_new_prompt_then_approves(
    app: Any, reviewer: TestClient, runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__MIN_DEFERRAL_SECONDS", "2")
    seen: dict[str, Any] = {}

    def review() -> None:
        ti = seen["ti"] = asked(1, "awaiting_input")
        page = seen["page"] = page_of(reviewer, ti)
        seen["viewer"] = page_of(TestClient(app, cookies={"_token": token(app, "viewer")}), ti)
        started = time.monotonic()
        changes = {"input.7.text": "a better poster", "input.4.text": "ignored: not rejected"}
        seen["posted"] = post_form(
            reviewer, ti, {**form_of(page), "choice": "Regenerate rejected", "reject": [2, 7], **changes}
        )
        seen["held"] = time.monotonic() - started
        round_two = seen["round_two"] = page_of(reviewer, asked(2, "awaiting_input"))
        seen["approved"] = post_form(reviewer, ti, {**form_of(round_two), "choice": "Approve"})

    with reviewing(review):
        dag_run = run_review_dag()
    after = page_of(reviewer, seen["ti"])

    assert 'textarea name="input.7.text" form="review" rows="2">\nposter 7</textarea>' in seen["page"]
    assert 'name="token"' not in seen["viewer"]
    assert escape(NOT_ALLOWED) in seen["viewer"]
    assert (seen["posted"].status_code, seen["posted"].headers["location"]) == (303, f"outputs?{seen['ti'].query()}")
    assert seen["held"] > 1.0  # the task had parked moments before: the answer waited out min_deferral_seconds
    assert "Review round 2: waiting for an answer" in seen["round_two"]
    assert seen["round_two"].count(">new in round 2</span>") == 2
    assert '<th scope="row">1</th><td>Regenerate rejected</td><td>2, 7</td><td>7</td>' in seen["round_two"]
    assert seen["approved"].status_code == 303
    assert dag_run.state == "success"
    entries = xcom(dag_run, "run")
    texts = [e["output"]["text"] for e in entries if e["index"] in (2, 4, 7)]
    assert texts == ["POSTER 2", "POSTER 4", "A BETTER POSTER"]
    assert [d["choice"] for d in summary(seen["ti"])["review"]] == ["Regenerate rejected", "Approve"]
    assert after.count(">approved</span>") == 10
    assert 'name="token"' not in after
    assert runflow_connection.counters()["batches_created"] == 2


def test_an_answer_given_as_the_question_appears_is_read_on_the_worker_without_parking(
    app: Any, runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Automation (a bearer token: no cookie, so no form token) answers the moment the question appears."""
    monkeypatch.setenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS", "30")
    automation = TestClient(app, headers={"Authorization": f"Bearer {token(app, 'user')}"}, follow_redirects=False)
    seen: dict[str, Any] = {}

    def review() -> None:
        ti = asked(1, "running")
        started = time.monotonic()
        seen["posted"] = post_form(automation, ti, {"round": 1, "choice": "Approve", "reject": [5]})
        seen["answered_in"] = time.monotonic() - started

    with reviewing(review):
        dag_run = run_review_dag()

    assert seen["posted"].status_code == 303
    assert seen["answered_in"] < 1.5  # nothing parked: nothing to hold
    assert dag_run.state == "success"
    assert [e["review"] for e in xcom(dag_run, "run")].count("rejected") == 1
    assert "Pausing task as AWAITING_INPUT" not in capfd.readouterr().out
