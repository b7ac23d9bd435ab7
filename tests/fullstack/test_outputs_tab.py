"""The "Runflow outputs" tab in Airflow's real UI, in headless Chromium, on a run of 40 inputs.

The stack's own api-server admits everyone as admin (``simple_auth_manager_all_admins``), so a
second api-server over the same DB runs with a real user list: the tab is then seen by a viewer
who logged in through Airflow's login form, and refused to a browser that did not.

The emulator's image URLs point at ``cdn.runflow.invalid`` and never load: thumbnails that load
come from the ``stored`` task, which records entries with stored media the way the operator's
media persistence will (``tests/dags/runflow_ui_scenarios.py``). Screenshots go to docs/images/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from airflow_stack import BIN, ROOT, AirflowStack, free_port, stop_process_tree
from browser_support import IMAGES

pytestmark = pytest.mark.fullstack

DAG_ID = "rf_ui_browser"
USER, PASSWORD = "analyst", "tab-viewer-password"
FAILED = [3, 10, 17, 24, 31]


@pytest.fixture(scope="module")
def browser_run(stack: AirflowStack) -> str:
    """``rf_ui_browser`` added to the stack's DAGs folder, parsed, run once to success; its run id."""
    for name in ("runflow_ui_scenarios.py", "runflow_scenarios.py"):
        shutil.copy(ROOT / "tests" / "dags" / name, stack.dags / name)
    stack.wait_for(lambda: stack.api().get(f"/api/v2/dags/{DAG_ID}").status_code == 200, 120, f"{DAG_ID} parsed")
    media_dir = stack.root / "example-output" / "media"
    run_id = stack.trigger_dag(DAG_ID, {"media_dir": str(media_dir)})
    assert stack.wait_for_run(DAG_ID, run_id, timeout=240) == "success", stack.report()
    return run_id


@pytest.fixture(scope="module")
def login_server(stack: AirflowStack) -> Iterator[str]:
    """A second api-server on the stack's DB whose only user is the viewer ``analyst``."""
    port, passwords = free_port(), stack.root / "tab-passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    url = f"http://127.0.0.1:{port}"
    env = stack.env() | {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__BASE_URL": url,
    }
    command = [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)]
    with (stack.root / "api-server-login.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stack.wait_for(lambda: _answers(f"{url}/api/v2/monitor/health"), 120, "the login api-server")
        yield url
    finally:
        stop_process_tree(process)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def viewer(chromium: Any, login_server: str) -> Iterator[Any]:
    """A browser tab logged in as ``analyst`` through Airflow's login form."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{login_server}/")
    page.get_by_label(re.compile("username", re.I)).fill(USER)
    page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
    page.wait_for_url(re.compile(rf"^{re.escape(login_server)}/(?!auth)"))
    yield page
    context.close()


def tab_path(run_id: str, task_id: str, map_index: int = -1) -> str:
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    return f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{task_id}{mapped}/plugin/runflow-outputs"


def outputs_frame(page: Any) -> Any:
    return page.frame_locator('iframe[title="Runflow outputs"]')


def open_tab(page: Any, url: str) -> Any:
    """Go to a tab; once Airflow's task-instance header has loaded too, the frame with the page."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    return outputs_frame(page)


def test_the_extra_link_opens_the_tab(stack: AirflowStack, chromium: Any, browser_run: str) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{stack.api_url}/dags/{DAG_ID}/runs/{browser_run}/tasks/run")
    page.get_by_role("link", name="Details", exact=True).click()
    # The extra link, not the tab of the same name beside "Details".
    link = page.get_by_role("link", name="Runflow outputs", exact=True).and_(page.locator("a[rel]"))
    expect(link).to_have_attribute("href", stack.api_url + tab_path(browser_run, "run"))
    expect(page.get_by_role("link", name="Runflow batch", exact=True)).to_be_visible()
    page.screenshot(path=IMAGES / "outputs-extra-link.png")
    link.click()

    expect(page).to_have_url(re.compile(re.escape(tab_path(browser_run, "run")) + "$"))
    expect(outputs_frame(page).locator("article.item")).to_have_count(40)
    page.close()


def test_a_browser_without_login_is_refused(chromium: Any, login_server: str, browser_run: str) -> None:
    context = chromium.new_context()
    page = context.new_page()
    query = f"dag_id={DAG_ID}&run_id={quote(browser_run, safe='')}&task_id=run&map_index=-1"

    response = page.goto(f"{login_server}/runflow-outputs/outputs?{query}")

    assert response is not None
    assert response.status == 401
    assert "item-0" not in page.content()
    context.close()


def test_a_logged_in_viewer_sees_the_grid_and_filters_to_failed_items(
    viewer: Any, login_server: str, browser_run: str
) -> None:
    from playwright.sync_api import expect

    frame = open_tab(viewer, login_server + tab_path(browser_run, "run"))
    items = frame.locator("article.item")
    expect(items).to_have_count(40)
    expect(frame.locator(".stats")).to_contain_text(re.compile(r"Items\s*40"))
    expect(items.first.locator("pre")).to_contain_text('"text": "ITEM-0"')
    viewer.screenshot(path=IMAGES / "outputs-grid.png")

    frame.get_by_role("link", name="Failed (5)").click()

    expect(items).to_have_count(5)
    assert [int(i) for i in items.evaluate_all("els => els.map(e => e.dataset.index)")] == FAILED
    expect(items.locator(".error").first).to_contain_text("MODEL_ERROR: acme/test-model failed on purpose")
    expect(frame.get_by_role("link", name="Failed (5)")).to_have_attribute("aria-current", "page")
    viewer.screenshot(path=IMAGES / "outputs-failed.png")


def test_stored_media_load_as_thumbnails(viewer: Any, login_server: str, browser_run: str) -> None:
    from playwright.sync_api import expect

    frame = open_tab(viewer, login_server + tab_path(browser_run, "stored"))
    images = frame.locator("article.item img")
    expect(images).to_have_count(34)  # one per succeeded entry: 40 less the 6 recorded as failed
    for index in range(8):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") == 48
    frame.locator("body").evaluate("body => window.scrollTo(0, 0)")
    viewer.screenshot(path=IMAGES / "outputs-stored-media.png")


def test_a_mapped_task_instance_has_its_own_tab(viewer: Any, login_server: str, browser_run: str) -> None:
    from playwright.sync_api import expect

    frame = open_tab(viewer, login_server + tab_path(browser_run, "images", map_index=1))
    items = frame.locator("article.item")
    expect(items).to_have_count(4)
    expect(frame.locator("h1")).to_contain_text("images [1]")
    # The emulator's image URLs are shown, not fetched by the server; they do not resolve.
    first = items.first.locator("img")
    expect(first).to_have_attribute("src", re.compile(r"^https://cdn\.runflow\.invalid/acme/image-gen/\w+\.png$"))
    viewer.screenshot(path=IMAGES / "outputs-mapped.png")
