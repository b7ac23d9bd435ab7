"""The tab's review form under hostile requests: forged posts, users Airflow does not let answer, broken forms.

Each request goes through Airflow's real ``create_app()`` to a task instance whose question waits
(``hitl_support.ask_review``: a finished run of ``rf_ui_items``, 12 items, taken back to the moment
it asked round 1). A refusal is a 4xx naming what is wrong, never a 5xx, and records nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_support import xcom
from fastapi.testclient import TestClient
from hitl_support import ask_review
from outputs_support import FORM, Runs, Ti, bearer, form_of, post_form, run_scenario, token

pytestmark = [
    pytest.mark.airflow_db,
    pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="review= needs Airflow 3.3 (awaiting_input)"),
]
ORIGIN = "http://testserver"


def asking(app: Any, assigned: tuple[str, ...] = ()) -> Ti:
    """A new run of ``rf_ui_items`` whose task asks review round 1 (``review: []`` in its summary)."""
    from airflow.models.dagrun import DagRun

    ti = Ti("rf_ui_items", run_scenario("rf_ui_items"))
    summary = xcom(DagRun(dag_id=ti.dag_id, run_id=ti.run_id), "run", key="summary")
    path = f"/api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/run/xcomEntries/summary"
    patched = TestClient(app).patch(path, json={"value": {**summary, "review": []}}, headers=bearer(token(app, "user")))
    assert patched.status_code == 200, patched.text
    ask_review({"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": "run", "map_index": -1}, assigned)
    return ti


def answered(ti: Ti) -> dict[str, Any] | None:
    """Airflow's record of the answer (chosen options, params, by), or None while unanswered."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        detail = session.scalars(
            select(HITLDetail)
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .where(TaskInstance.dag_id == ti.dag_id, TaskInstance.run_id == ti.run_id)
        ).one()
        if detail.responded_at is None:
            return None
        return {"chosen": detail.chosen_options, "params": detail.params_input, "by": detail.responded_by}


def browser(app: Any, role: str, origin: str | None = ORIGIN) -> TestClient:
    """A browser session of a user of ``role``: Airflow's login cookie, and the Origin its posts carry."""
    client = TestClient(app, cookies={"_token": token(app, role)}, follow_redirects=False)
    client.headers.update({"Origin": origin} if origin else {})
    return client


@pytest.fixture(scope="module")
def waiting(app: Any, runs: Runs) -> Ti:
    """A question that stays open: every post in the tests that use it is refused."""
    return asking(app)


@pytest.fixture(scope="module")
def reviewer_form(app: Any, waiting: Ti) -> dict[str, str]:
    """The hidden fields the tab gives a user of the "user" role (who may answer) for the waiting question."""
    page = browser(app, "user").get(waiting.url("outputs")).text
    return form_of(page)


def approve(form: dict[str, str], **more: Any) -> dict[str, Any]:
    return {**form, "choice": "Approve", **more}


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.example"}, "another site's page"),
        ({"Origin": "null"}, "a sandboxed or file: page"),
        ({"Origin": "", "Referer": "https://evil.example/review.html"}, "no Origin, another site's Referer"),
        ({"Origin": "http://testserver.evil.example"}, "a host that merely starts like ours"),
    ],
)
def test_a_post_from_another_page_is_refused(
    app: Any, waiting: Ti, reviewer_form: dict[str, str], headers: dict[str, str], why: str
) -> None:
    """The browser sends Airflow's cookie with a post from any site: the origin is what tells them apart."""
    client = browser(app, "user", origin=None)

    response = post_form(client, waiting, approve(reviewer_form), **headers)

    assert response.status_code == 403, why
    assert "not posted from the Runflow outputs tab" in response.text
    assert answered(waiting) is None


def test_a_post_with_neither_origin_nor_referer_is_refused(
    app: Any, waiting: Ti, reviewer_form: dict[str, str]
) -> None:
    response = post_form(browser(app, "user", origin=None), waiting, approve(reviewer_form))

    assert response.status_code == 403
    assert answered(waiting) is None


@pytest.mark.parametrize(
    "token_of",
    [
        pytest.param(lambda form: "", id="no token"),
        pytest.param(lambda form: "0" * 64, id="a made-up token"),
        pytest.param(lambda form: form["token"][:-1] + ("0" if form["token"][-1] != "0" else "1"), id="altered"),
    ],
)
def test_a_post_from_this_origin_without_the_pages_token_is_refused(
    app: Any, waiting: Ti, reviewer_form: dict[str, str], token_of: Any
) -> None:
    """Another page of the same host (a plugin's, say) cannot read the tab's token: it cannot answer."""
    form = {**approve(reviewer_form), "token": token_of(reviewer_form)}

    response = post_form(browser(app, "user"), waiting, form)

    assert response.status_code == 403
    assert "token is not yours" in response.text
    assert answered(waiting) is None


def test_a_token_is_good_for_its_user_and_round_only(app: Any, waiting: Ti, reviewer_form: dict[str, str]) -> None:
    admin = browser(app, "admin")

    other_user = post_form(admin, waiting, approve(reviewer_form))
    other_round = post_form(browser(app, "user"), waiting, approve(reviewer_form, round="2"))

    assert other_user.status_code == 403
    assert other_round.status_code == 403
    assert answered(waiting) is None


@pytest.mark.parametrize("how", ["cookie", "bearer"])
def test_a_viewer_may_look_but_not_answer(app: Any, waiting: Ti, reviewer_form: dict[str, str], how: str) -> None:
    """Airflow's own rule for its PATCH .../hitlDetails: PUT on the DAG's HITL_DETAIL, which a viewer lacks."""
    jwt = token(app, "viewer")
    client = browser(app, "viewer") if how == "cookie" else TestClient(app, headers=bearer(jwt))

    page = client.get(waiting.url("outputs")).text
    response = post_form(client, waiting, approve(reviewer_form))

    assert 'name="token"' not in page
    assert response.status_code == 403
    assert answered(waiting) is None


def test_no_login_no_answer(app: Any, waiting: Ti, reviewer_form: dict[str, str]) -> None:
    response = post_form(TestClient(app), waiting, approve(reviewer_form), Origin=ORIGIN)

    assert response.status_code == 401
    assert answered(waiting) is None


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"choice": "Ship it"}, 400, "chosen_options"),
        ({"choice": "Regenerate rejected"}, 400, "rejected: names no item to regenerate"),
        ({"choice": "Reject run"}, 400, "reason: is required to reject the run"),
        ({"choice": "Regenerate rejected", "reject": "12"}, 400, "rejected: must be a list of input indexes (0 to 11)"),
        ({"choice": "Regenerate rejected", "reject": "-1"}, 400, "reject: expected a whole number"),
        ({"choice": "Regenerate rejected", "reject": "1e3"}, 400, "reject: expected a whole number"),
        ({"choice": "Regenerate rejected", "reject": "99999999999999999999"}, 400, "reject: expected a whole number"),
        ({"choice": "Regenerate rejected", "reject": "3", "changes.3": "{not json"}, 400, "changes.3: not JSON"),
        ({"choice": "Regenerate rejected", "reject": "3", "changes.3": "[1]"}, 400, "changes.3: must be a JSON object"),
        ({"choice": "Regenerate rejected", "reject": "3", "changes.3": "[" * 5000}, 400, "changes.3"),
        ({"choice": "Regenerate rejected", "reject": "3", "changes.3": '{"x": NaN}'}, 400, "changes.3"),
        ({"choice": "Regenerate rejected", "reject": "3", "input.x.text": "a"}, 400, "expected a whole number"),
        ({"choice": "Approve", "round": "one"}, 400, "round: expected a whole number"),
        ({"choice": "Approve", "round": "7"}, 403, "token is not yours"),
    ],
)
def test_a_broken_form_is_refused_naming_the_field(
    app: Any, waiting: Ti, reviewer_form: dict[str, str], fields: dict[str, str], status: int, says: str
) -> None:
    client = browser(app, "user")

    response = post_form(client, waiting, {**reviewer_form, **fields})

    assert response.status_code == status, response.text
    assert says in response.text.replace("&#39;", "'")
    assert answered(waiting) is None


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"\xff\xfe\x00bad", FORM, 400),
        (b'{"choice": "Approve"}', "application/json", 415),
        (b"choice=Approve", "text/plain", 415),
        (b"choice=Approve&" + b"a=b&" * 30_000, FORM, 400),
        (b"reason=" + b"x" * (1024 * 1024 + 1), FORM, 413),
        (b"", FORM, 400),
    ],
)
def test_a_body_that_is_no_form_is_refused(
    app: Any, waiting: Ti, content: bytes, content_type: str, status: int
) -> None:
    response = browser(app, "user").post(waiting.url("review"), content=content, headers={"Content-Type": content_type})

    assert response.status_code == status
    assert answered(waiting) is None


def test_a_task_instance_that_asks_nothing_takes_no_answer(app: Any, runs: Runs, reviewer_form: dict[str, str]) -> None:
    client = TestClient(app, headers=bearer(token(app, "user")), follow_redirects=False)

    response = post_form(client, runs.items, approve(reviewer_form))
    missing = post_form(client, Ti("rf_ui_items", "no-such-run"), approve(reviewer_form))

    assert response.status_code == 404
    assert missing.status_code in (403, 404)  # Airflow's dependency may refuse first: nothing to answer either way


def test_an_assigned_review_is_answered_by_its_assignees_only(app: Any, runs: Runs) -> None:
    """Airflow's ``is_authorized_hitl_task``: with ``all_admins`` off, a user id among the assignees."""
    ti = asking(app, assigned=("admin-",))
    user, admin = browser(app, "user"), browser(app, "admin")

    page = user.get(ti.url("outputs")).text
    refused = post_form(TestClient(app, headers=bearer(token(app, "user"))), ti, {"round": 1, "choice": "Approve"})
    admin_form = form_of(admin.get(ti.url("outputs")).text)
    accepted = post_form(admin, ti, approve(admin_form, reject="4", reason="4 is off-brand"))

    assert "This review is assigned to admin-: you may look, not answer." in page
    assert 'name="token"' not in page
    assert refused.status_code == 403
    assert accepted.status_code == 303
    assert answered(ti) == {
        "chosen": ["Approve"],
        "params": {"rejected": [4], "changes": {}, "reason": "4 is off-brand"},
        "by": {"id": "admin-", "name": "admin-"},
    }


def test_a_question_is_answered_once(app: Any, runs: Runs) -> None:
    ti = asking(app)
    client = browser(app, "user")
    form = form_of(client.get(ti.url("outputs")).text)
    changes = {"reject": ["2", "5"], "input.2.text": "a sharper poster", "changes.5": '{"text": "a calmer poster"}'}

    first = post_form(client, ti, {**form, "choice": "Regenerate rejected", **changes})
    again = post_form(client, ti, approve(form))

    assert first.status_code == 303
    assert again.status_code == 409
    assert "answered already" in again.text
    assert answered(ti) == {
        "chosen": ["Regenerate rejected"],
        "params": {
            "rejected": [2, 5],
            "changes": {"2": {"text": "a sharper poster"}, "5": {"text": "a calmer poster"}},
            "reason": "",
        },
        "by": {"id": "user-", "name": "user-"},
    }


def test_a_task_that_no_longer_waits_takes_no_answer(app: Any, runs: Runs) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    ti = asking(app)
    client = browser(app, "user")
    form = form_of(client.get(ti.url("outputs")).text)
    with create_session() as session:
        session.execute(
            update(TaskInstance).where(TaskInstance.run_id == ti.run_id, TaskInstance.dag_id == ti.dag_id)
            .values(state="failed")
        )  # fmt: skip

    response = post_form(client, ti, approve(form))

    assert response.status_code == 409
    assert "does not wait for an answer: it is failed" in response.text
    assert answered(ti) is None
