"""The tab in every state of a task instance: never a 500, and while the task waits, the batches it submitted.

Users open the tab while the task is deferred, the moment it matters most. What the operator
records before it defers (XComs ``batch_ids`` and ``runflow_batch_url``) is all there is then:
these tests take a real run's task instance back to that moment (its results and summary
removed, its state set), then open the page as a viewer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from outputs_support import Runs, Ti, bearer, run_scenario, token

pytestmark = pytest.mark.airflow_db

WAITING = ["deferred", "running", "queued", "scheduled", "up_for_retry", None]


@pytest.fixture(scope="module")
def client(app: Any) -> TestClient:
    return TestClient(app, headers=bearer(token(app, "viewer")), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def before_results(runs: Runs) -> Ti:
    """``rf_ui_waiting`` (3 batches) as it was when it deferred: only ``batch_ids`` and the batch link recorded."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    ti = Ti("rf_ui_waiting", run_scenario("rf_ui_waiting"))
    with create_session() as session:
        session.execute(
            delete(XComModel).where(
                XComModel.dag_id == ti.dag_id,
                XComModel.run_id == ti.run_id,
                XComModel.key.in_(["return_value", "summary"]),
            )
        )
    return ti


def set_state(ti: Ti, state: str | None) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(TaskInstance)
            .where(TaskInstance.dag_id == ti.dag_id, TaskInstance.run_id == ti.run_id, TaskInstance.task_id == "run")
            .values(state=state)
        )


@pytest.mark.parametrize("state", WAITING)
def test_a_task_that_has_not_finished_shows_the_batches_it_submitted(
    client: TestClient, before_results: Ti, state: str | None
) -> None:
    set_state(before_results, state)

    page = client.get(before_results.url("items")).json()
    html = client.get(before_results.url("outputs"))

    assert html.status_code == 200
    assert [b["url"] for b in page["batches"]] == [
        f"https://app.runflow.invalid/batches/{b['batch_id']}" for b in page["batches"]
    ]
    assert len(page["batches"]) == 3
    doing = "has not started" if state is None else f"is {state.replace('_', ' ')}"
    assert page["notice"] == f"The task {doing} (3 batches submitted so far): its results appear here once it finishes."
    assert (page["items"], page["summary"]) == ([], None)
    assert html.text.count('<a href="https://app.runflow.invalid/batches/') == 3
    assert "Batches (3)" in html.text
    assert '<dl class="stats">' not in html.text  # no counts of zero items for a task still running


def test_a_task_that_failed_before_recording_results_says_so(client: TestClient, runs: Runs) -> None:
    ti = Ti("rf_ui_bad_input", run_scenario("rf_ui_bad_input", state="failed"))

    html = client.get(ti.url("outputs"))

    assert html.status_code == 200
    assert "The task failed before recording results: its log says why." in html.text


@pytest.mark.parametrize(
    ("task_id", "notice"),
    [
        ("greet", "This task&#39;s return value is not a list of Runflow result entries."),
        ("nothing", "This task (_PythonDecoratedOperator) records no Runflow results."),
        ("mapped", "This task is mapped: open one of its mapped task instances."),
    ],
)
def test_a_task_without_runflow_results_gets_a_short_page(
    client: TestClient, runs: Runs, task_id: str, notice: str
) -> None:
    parent = Ti(runs.mapped.dag_id, runs.mapped.run_id, map_index="{MAP_INDEX}")
    ti = parent if task_id == "mapped" else Ti(runs.other.dag_id, runs.other.run_id, task_id=task_id)
    html = client.get(ti.url("outputs"))

    assert html.status_code == 200
    assert notice in html.text
    assert '<dl class="stats">' not in html.text


def test_failed_and_not_succeeded_are_not_both_offered_for_the_same_items(client: TestClient, runs: Runs) -> None:
    only_failed = client.get(runs.items.url("outputs")).text  # 10 succeeded, 2 failed
    failed_and_cancelled = client.get(runs.recorded.url("outputs")).text  # 19 failed, 2 cancelled

    assert "Failed (2)" in only_failed
    assert "Not succeeded" not in only_failed
    assert re.search(r"Not succeeded \(21\)", failed_and_cancelled)


def test_a_thumbnail_opens_the_full_image(client: TestClient, runs: Runs) -> None:
    html = client.get(runs.recorded.url("outputs", per_page=6)).text

    [(href, src)] = set(re.findall(r'<a href="([^"]+)"[^>]*><img src="([^"]+)"', html)[:1])
    assert href == src
    assert src.startswith("media?")
    assert html.count('<a href="media?') == 4  # items 0, 1, 2 and 4 stored their image (3 failed)
