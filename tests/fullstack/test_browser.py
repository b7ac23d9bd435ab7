"""The provider in Airflow's real UI, in headless Chromium: the Runflow connection form and the batch link.

Screenshots go to ``docs/images/`` (committed, for the docs); the tests assert on the page,
never on pixels. Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``);
Playwright drives it, never its own browser download.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from airflow_stack import FULLSTACK_DAG_ID, AirflowStack
from browser_support import IMAGES
from fullstack_support import RUN_TASK, WatchedRun

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.fullstack

CONN_ID = "runflow_ui"
DASHBOARD = "https://app.runflow.io"


@pytest.fixture(scope="module")
def page(chromium: Browser) -> Iterator[Page]:
    tab = chromium.new_page(viewport={"width": 1400, "height": 1000})
    tab.set_default_timeout(30_000)
    yield tab
    tab.close()


def test_runflow_connection_form_saves_what_the_hook_reads(stack: AirflowStack, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api_url}/")
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("menuitem", name="Connections").click()
    page.get_by_role("button", name="Add Connection").click()
    form = page.get_by_role("dialog")
    form.get_by_label("Connection ID").fill(CONN_ID)
    form.get_by_role("combobox").fill("Runflow")
    page.get_by_role("option", name="Runflow", exact=True).click()

    # Standard fields: relabelled, with placeholders; login, port and schema hidden; the key masked.
    expect(form.get_by_label("API base URL")).to_have_attribute("placeholder", "https://api.runflow.io")
    api_key = form.get_by_label("API key")
    expect(api_key).to_have_attribute("type", "password")
    for hidden in ("Login", "Port", "Schema", "Host", "Password"):
        expect(form.locator("label", has_text=re.compile(rf"^{hidden}$"))).to_have_count(0)
    form.get_by_label("API base URL").fill(stack.emulator_url)
    api_key.fill(stack.api_key)
    page.screenshot(path=IMAGES / "connection-form.png")

    # Extra fields: our labels, descriptions and defaults.
    form.get_by_role("button", name="Extra Fields", exact=True).click()
    expect(form.get_by_text("Sent as X-Organization-Id; empty means the API key's organization.")).to_be_visible()
    expect(extra_field(form, "Request timeout (seconds)")).to_have_value("30")
    expect(extra_field(form, "Max retries")).to_have_value("4")
    extra_field(form, "Organization ID").fill(stack.organization_id)
    extra_field(form, "Dashboard URL").fill(DASHBOARD)
    page.screenshot(path=IMAGES / "connection-form-extra-fields.png")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row").filter(has_text=CONN_ID)).to_be_visible()

    with stack.api() as client:
        response = client.get(f"/api/v2/connections/{CONN_ID}")
    assert response.status_code == 200, response.text
    saved = response.json()
    assert (saved["conn_type"], saved["host"], saved["login"], saved["port"]) == (
        "runflow",
        stack.emulator_url,
        None,
        None,
    )
    assert json.loads(saved["extra"]) == {
        "organization_id": stack.organization_id,
        "timeout": 30,
        "max_retries": 4,
        "max_requests_per_second": None,
        "dashboard_url": DASHBOARD,
        "callback_secrets": None,
    }
    # The REST API masks the key (Airflow redacts every password) ...
    assert saved["password"] == "***"
    assert stack.api_key not in response.text
    # ... yet the key typed in the form is stored: the CLI, reading the DB, shows it.
    (stored,) = json.loads(stack.cli("connections", "get", CONN_ID, "-o", "json"))
    assert stored["password"] == stack.api_key


def test_run_task_shows_the_runflow_batch_link(stack: AirflowStack, first_run: WatchedRun, page: Page) -> None:
    from playwright.sync_api import expect

    assert first_run.state == "success", stack.report()
    (first_batch, _) = stack.xcom(FULLSTACK_DAG_ID, first_run.run_id, RUN_TASK, "batch_ids")
    page.goto(f"{stack.api_url}/dags/{FULLSTACK_DAG_ID}/runs/{first_run.run_id}/tasks/{RUN_TASK}")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="Runflow batch", exact=True)
    expect(link).to_be_visible()
    # The emulator's batch names its dashboard page, which the link prefers to the API URL.
    expect(link).to_have_attribute("href", f"https://app.runflow.invalid/batches/{first_batch}")
    page.screenshot(path=IMAGES / "extra-link.png")


def extra_field(form: Locator, label: str) -> Locator:
    """The input of an extra field by its label (Airflow's string fields' labels point at no input id)."""
    return form.get_by_role("group").filter(has=form.page.locator("label", has_text=label)).locator("input")
