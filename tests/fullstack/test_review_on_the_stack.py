"""Reviewing 40 generated images on the full stack: a reviewer in Airflow's UI (headless Chromium), or automation.

``example_runflow_review`` (40 images stored under the stack's storage root, ``review=``) runs on the
real scheduler, triggerer, dag-processor and api-server. A second api-server over the same DB checks
logins (``api_server_with_users``): the reviewer (Airflow's "user" role) answers in the "Runflow
outputs" tab, a viewer may only look. The other test answers through Airflow's REST API alone.
Screenshots of the review form (light and dark) go to docs/images/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from airflow_stack import AirflowStack, StackError
from browser_support import IMAGES

from airflow_provider_runflow.emulator.local_airflow import login

pytestmark = pytest.mark.fullstack

DAG_ID, TASK = "example_runflow_review", "generate_images"
USERS = {"reviewer": ("user", "reviewer-password"), "analyst": ("viewer", "analyst-password")}
REJECTED = [3, 10, 17, 24, 31]
REWRITTEN = {10: "a ceramic mug on an oak table, product shot 10", 24: "a matte black ceramic mug, product shot 24"}
REASON = "3, 17, 31: blurred; 10, 24: wrong setting"


@pytest.fixture(scope="module")
def login_server(stack: AirflowStack) -> Iterator[str]:
    with stack.api_server_with_users(USERS) as url:
        yield url


def logged_in(chromium: Any, url: str, user: str, dark: bool = False) -> Any:
    """A browser tab of ``user``, logged in through Airflow's login form."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1300}, color_scheme="dark" if dark else "light")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/")
    page.get_by_label(re.compile("username", re.I)).fill(user)
    page.get_by_label(re.compile("password", re.I)).fill(USERS[user][1])
    page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
    page.wait_for_url(re.compile(rf"^{re.escape(url)}/(?!auth)"))
    return page


def open_tab(page: Any, url: str, run_id: str) -> Any:
    """The tab's frame, once Airflow's UI has loaded it (slow on a busy 2-core machine)."""
    from playwright.sync_api import expect

    page.goto(f"{url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{TASK}/plugin/runflow-outputs")
    frame = page.frame_locator('iframe[title="Runflow outputs"]')
    expect(frame.locator("#review-title")).to_be_visible(timeout=60_000)
    return frame


def asks(stack: AirflowStack, run_id: str, review_round: int, timeout: float = 300) -> None:
    """Until the task is parked on an unanswered question of ``review_round``."""

    def parked() -> bool:
        if stack.task_instance(DAG_ID, run_id, TASK)["state"] != "awaiting_input":
            return False
        detail = stack.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK}/-1/hitlDetails")
        try:
            decided = len(stack.xcom(DAG_ID, run_id, TASK, "summary")["review"])
        except StackError:
            return False
        return not detail["response_received"] and decided == review_round - 1

    stack.wait_for(parked, timeout, f"review round {review_round} of {run_id}", interval=1.0)


def form_post(url: str, run_id: str, headers: dict[str, str], jwt: str) -> int:
    """A review form posted outside the tab: the status Airflow's api-server answers."""
    query = urlencode({"dag_id": DAG_ID, "run_id": run_id, "task_id": TASK, "map_index": -1})
    response = httpx.post(
        f"{url}/runflow-outputs/review?{query}",
        content=urlencode({"round": 1, "token": "0" * 64, "choice": "Approve"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        cookies={"_token": jwt},
        timeout=30,
    )
    return response.status_code


def shipped_in_order(stack: AirflowStack, run_id: str) -> list[tuple[int, int | None]]:
    """What ``publish`` received and shipped: (index, review_round) of every entry."""
    return [(entry["index"], entry["review_round"]) for entry in stack.xcom(DAG_ID, run_id, "publish")]


def test_a_reviewer_rejects_five_rewrites_two_then_approves_round_two(
    stack: AirflowStack, chromium: Any, login_server: str
) -> None:
    from playwright.sync_api import expect

    run_id = stack.trigger_dag(DAG_ID, {"count": 40})
    asks(stack, run_id, 1)
    created = stack.emulator_counters()["items_created"]
    reviewer = logged_in(chromium, login_server, "reviewer")
    frame = open_tab(reviewer, login_server, run_id)
    expect(frame.locator("article.item")).to_have_count(40)
    expect(frame.locator("#review-title")).to_have_text("Review round 1: waiting for an answer")
    expect(frame.locator("article.item img").first).to_have_js_property("complete", True)
    for index in REJECTED:
        frame.locator(f'article.item[data-index="{index}"] .reject input').check()
    for index, prompt in REWRITTEN.items():
        frame.locator(f'textarea[name="input.{index}.prompt"]').fill(prompt)
    frame.get_by_label("Reason").fill(REASON)
    frame.locator("body").evaluate("body => window.scrollTo(0, 0)")  # typing scrolled the reason into view
    reviewer.screenshot(path=IMAGES / "review-gallery.png")

    viewer_jwt, reviewer_jwt = (login(login_server, user, USERS[user][1]) for user in ("analyst", "reviewer"))
    viewer_post = form_post(login_server, run_id, {"Origin": login_server}, viewer_jwt)
    forged_post = form_post(login_server, run_id, {"Origin": "https://evil.example"}, reviewer_jwt)
    tokenless_post = form_post(login_server, run_id, {"Origin": login_server}, reviewer_jwt)
    frame.get_by_role("button", name="Regenerate rejected").click()
    expect(frame.locator("table.decisions")).to_contain_text("Regenerate rejected")

    asks(stack, run_id, 2)
    regenerated = stack.emulator_counters()["items_created"] - created
    dark = logged_in(chromium, login_server, "reviewer", dark=True)
    dark_frame = open_tab(dark, login_server, run_id)
    expect(dark_frame.locator("#review-title")).to_have_text("Review round 2: waiting for an answer")
    expect(dark_frame.locator(".badge.regenerated")).to_have_count(5)
    dark.screenshot(path=IMAGES / "review-gallery-dark.png")
    dark.context.close()
    frame = open_tab(reviewer, login_server, run_id)
    expect(frame.locator("#review-title")).to_have_text("Review round 2: waiting for an answer")
    badges = frame.locator("article.item:has(.badge.regenerated)")
    assert [int(i) for i in badges.evaluate_all("els => els.map(e => e.dataset.index)")] == REJECTED
    frame.get_by_role("button", name="Approve").click()
    state = stack.wait_for_run(DAG_ID, run_id, timeout=300)
    reviewer.context.close()

    assert (viewer_post, forged_post, tokenless_post) == (403, 403, 403)
    assert regenerated == 5
    assert state == "success", stack.report()
    assert shipped_in_order(stack, run_id) == [(i, 1 if i in REJECTED else None) for i in range(40)]
    review = stack.xcom(DAG_ID, run_id, TASK, "summary")["review"]
    assert [(d["choice"], d["by"]) for d in review] == [("Regenerate rejected", "reviewer"), ("Approve", "reviewer")]
    assert (review[0]["rejected"], review[0]["reason"]) == (REJECTED, REASON)
    assert review[0]["changes"] == {str(i): {"prompt": prompt} for i, prompt in REWRITTEN.items()}
    assert stack.emulator_counters()["items_created"] - created == 5


def test_automation_reviews_through_the_rest_api_alone(stack: AirflowStack) -> None:
    """A script answers each round over ``PATCH .../hitlDetails``, waiting out ``min_deferral_seconds`` after parking.

    The wait is what docs/review.md asks of REST clients: Airflow resumes a task at once, and one
    resumed within seconds of parking can be failed by its scheduler.
    """
    run_id = stack.trigger_dag(DAG_ID, {"count": 40})
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK}/-1/hitlDetails"
    changes = {str(i): {"prompt": prompt, "width": 256, "height": 256} for i, prompt in REWRITTEN.items()}
    answers = [
        {"chosen_options": ["Regenerate rejected"], "params_input": {"rejected": REJECTED, "changes": changes}},
        {"chosen_options": ["Approve"], "params_input": {"rejected": [], "changes": {}, "reason": ""}},
    ]
    created = None
    for review_round, answer in enumerate(answers, start=1):
        asks(stack, run_id, review_round)
        created = stack.emulator_counters()["items_created"] if created is None else created
        time.sleep(11)  # [runflow] min_deferral_seconds (10 s) after parking
        with stack.api() as client:
            response = client.patch(path, json=answer)
        assert response.status_code == 200, response.text

    assert stack.wait_for_run(DAG_ID, run_id, timeout=300) == "success", stack.report()
    assert shipped_in_order(stack, run_id) == [(i, 1 if i in REJECTED else None) for i in range(40)]
    assert stack.emulator_counters()["items_created"] - (created or 0) == 5
    review = stack.xcom(DAG_ID, run_id, TASK, "summary")["review"]
    assert [d["choice"] for d in review] == ["Regenerate rejected", "Approve"]
