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


def rewound_to_its_deferral() -> Ti:
    """A run of ``rf_ui_waiting`` (3 batches) as it was when it deferred: only ``batch_ids`` recorded.

    With the default connection the operator records no batch link before it defers (the link
    comes from the connection's ``dashboard_url``, or from Runflow's answers once the batches end).
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    ti = Ti("rf_ui_waiting", run_scenario("rf_ui_waiting"))
    with create_session() as session:
        session.execute(
            delete(XComModel).where(
                XComModel.dag_id == ti.dag_id,
                XComModel.run_id == ti.run_id,
                XComModel.key.in_(["return_value", "summary", "runflow_batch_url"]),
            )
        )
    return ti


@pytest.fixture(scope="module")
def before_results(runs: Runs) -> Ti:
    return rewound_to_its_deferral()


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
    assert [(len(b["batch_id"]), b["url"]) for b in page["batches"]] == [(36, None)] * 3
    doing = "has not started" if state is None else f"is {state.replace('_', ' ')}"
    assert page["notice"] == f"The task {doing} (3 batches submitted so far): its results appear here once it finishes."
    assert (page["items"], page["summary"]) == ([], None)
    assert "Batches (3)" in html.text
    assert all(f"<span>{b['batch_id']}</span>" in html.text for b in page["batches"])
    assert '<dl class="stats">' not in html.text  # no counts of zero items for a task still running


def test_a_deferred_tasks_batches_are_linked_when_the_connection_names_the_dashboard(
    app: Any, client: TestClient, runs: Runs
) -> None:
    ti = rewound_to_its_deferral()
    set_state(ti, "deferred")
    first, *others = client.get(ti.url("items")).json()["batches"]
    # What the operator records before deferring with a connection whose dashboard_url is set.
    xcom = f"/api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/run/xcomEntries"
    link = {"key": "runflow_batch_url", "value": f"https://dash.example/batches/{first['batch_id']}"}
    assert client.post(xcom, json=link, headers=bearer(token(app, "user"))).status_code == 201

    html = client.get(ti.url("outputs")).text

    for batch in (first, *others):
        assert f'<a href="https://dash.example/batches/{batch["batch_id"]}" rel="noreferrer">' in html


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
