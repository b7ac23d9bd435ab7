"""Who may see the page, and which files its media route serves: Airflow does not authenticate plugin apps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from outputs_support import Runs, Ti, bearer, run_scenario, token

pytestmark = pytest.mark.airflow_db

ROUTES = ("outputs", "items", "media")
TEAM = "vision"


def get(app: Any, ti: Ti, route: str, jwt: str | None = None, **params: Any) -> Any:
    """GET a route of the page for ``ti`` (the media route: its first stored file) as the holder of ``jwt``."""
    params = {"item": 0, "media": 0, **params} if route == "media" else params
    return TestClient(app).get(ti.url(route, **params), headers=bearer(jwt) if jwt else {})


@pytest.mark.parametrize("route", ROUTES)
def test_no_login_is_refused(app: Any, runs: Runs, route: str) -> None:
    response = get(app, runs.recorded, route)

    assert (response.status_code, response.json()) == (401, {"detail": "Not authenticated"})


@pytest.mark.parametrize("route", ROUTES)
def test_a_token_not_signed_by_airflow_is_refused(app: Any, runs: Runs, route: str) -> None:
    genuine = token(app, "admin")
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")

    assert get(app, runs.recorded, route, forged).status_code == 403


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_without_a_role_is_forbidden(app: Any, runs: Runs, route: str) -> None:
    assert get(app, runs.recorded, route, token(app, None)).status_code == 403


@pytest.fixture(scope="module")
def private_dag(runs: Runs) -> Iterator[Ti]:
    """``rf_ui_private`` moved into a DAG bundle owned by team ``vision``: only its members may read it."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        bundle = DagBundleModel(name="ui-private")
        bundle.teams = [Team(name=TEAM)]
        session.add(bundle)
        session.flush()
        before = session.get(DagModel, runs.private.dag_id).bundle_name
        session.execute(update(DagModel).where(DagModel.dag_id == runs.private.dag_id).values(bundle_name="ui-private"))
    yield runs.private
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == runs.private.dag_id).values(bundle_name=before))


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_without_access_to_the_dag_is_forbidden(app: Any, runs: Runs, private_dag: Ti, route: str) -> None:
    outsider, member = token(app, "viewer", teams=["audio"]), token(app, "viewer", teams=[TEAM])

    assert get(app, private_dag, route, outsider).status_code == 403
    # The same user reads DAGs that belong to no team; a member of the team reads this one.
    assert get(app, runs.items, "outputs", outsider).status_code == 200
    assert get(app, private_dag, "outputs", member).status_code == 200


def test_the_browsers_login_cookie_is_accepted(app: Any, runs: Runs) -> None:
    client = TestClient(app, cookies={"_token": token(app, "viewer")})

    response = client.get(runs.recorded.url("outputs"))

    assert response.status_code == 200
    assert "shot-00000" in response.text


@pytest.mark.parametrize("item", ["../../etc/passwd", "0/../1", "%2e%2e%2fsecret", "file:///etc/passwd"])
def test_the_media_route_takes_an_item_number_never_a_path(app: Any, runs: Runs, item: str) -> None:
    assert get(app, runs.recorded, "media", token(app, "viewer"), item=item).status_code == 422


@pytest.mark.parametrize(
    ("ti_name", "item", "media"),
    [
        ("recorded", 5, 0),  # an item without stored media
        ("recorded", 0, 1),  # a file the item does not have
        ("recorded", 10_000, 0),  # an item the task does not have
        ("recorded_jsonl", 130, 0),
        ("items", 0, 0),  # item 0 of another task instance, which stored no media
        ("outside", 0, 0),  # a results file outside the roots is not read for media either
    ],
)
def test_media_not_recorded_for_that_task_instance_are_not_found(
    app: Any, runs: Runs, ti_name: str, item: int, media: int
) -> None:
    response = get(app, getattr(runs, ti_name), "media", token(app, "viewer"), item=item, media=media)

    assert (response.status_code, response.json()) == (404, {"detail": "No such stored media"})


@pytest.fixture(scope="module")
def forged(app: Any, runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> Ti:
    """A task instance whose entries a user with XCom write access rewrote through Airflow's REST API."""
    secret = tmp_path_factory.mktemp("secret") / "airflow.cfg"
    secret.write_text("[database]\nsql_alchemy_conn = postgresql://airflow:hunter2@db/airflow\n")
    ti = Ti("rf_ui_recorded", run_scenario("rf_ui_recorded", count=1, media_dir=str(runs.storage), media_items=1))
    own = runs.storage / ti.folder()
    (own / "link.png").symlink_to(secret)
    (own / "page.html").write_text("<script>alert(document.cookie)</script>")
    paths = [
        (secret.as_uri(), "image/png"),  # outside every root
        (f"{own.as_uri()}/../../../{secret.parent.name}/airflow.cfg", "image/png"),  # climbs out of the root
        ((own / "link.png").as_uri(), "image/png"),  # a symlink in its folder to a file outside
        ("https://attacker.invalid/cat.png", "image/png"),  # a URL for the server to fetch
        ((own / "page.html").as_uri(), "text/html"),  # in its folder, but a page the browser would run
        ((own / "page.html").as_uri(), "image/svg+xml"),  # the same, as an SVG document
        (runs.media_file(runs.recorded, 0).as_uri(), "image/png"),  # another task instance's (or team's) file
        ((own / "00000.png").as_uri(), "image/png"),  # the one legitimate file
    ]
    entries = [
        {"index": i, "status": "succeeded", "media": [{"path": path, "content_type": content_type}]}
        for i, (path, content_type) in enumerate(paths)
    ]
    xcom = f"/api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/{ti.task_id}/xcomEntries/return_value"
    response = TestClient(app).patch(xcom, json={"value": entries}, headers=bearer(token(app, "user")))
    assert response.status_code == 200, response.text
    return ti


@pytest.mark.parametrize("item", range(7))
def test_recorded_paths_outside_the_task_instances_folder_are_refused(app: Any, forged: Ti, item: int) -> None:
    response = get(app, forged, "media", token(app, "viewer"), item=item)

    assert response.status_code == 403
    assert "hunter2" not in response.text
    assert "<script>" not in response.text


def test_a_recorded_path_in_the_task_instances_folder_is_served(app: Any, forged: Ti, runs: Runs) -> None:
    response = get(app, forged, "media", token(app, "viewer"), item=7)

    assert response.status_code == 200
    assert response.content == (runs.storage / forged.folder() / "00000.png").read_bytes()


def test_the_page_shows_no_refused_file_as_media(app: Any, forged: Ti) -> None:
    html = get(app, forged, "outputs", token(app, "viewer")).text

    assert html.count('<img src="media?') == 1
    assert html.count("outside [runflow] ui_storage_roots") == 4
    assert html.count("outside this task instance&#39;s folder under [runflow] ui_storage_roots") == 1
    assert "as text/html" in html
    assert "as image/svg+xml" in html


@pytest.mark.parametrize(
    ("route", "params", "jwt_role", "status"),
    [
        ("outputs", {}, "viewer", 200),
        ("items", {}, "viewer", 200),
        ("media", {}, "viewer", 200),
        ("outputs", {}, None, 401),
        ("items", {"status": "bogus"}, "viewer", 422),
        ("media", {"item": 5}, "viewer", 404),
    ],
)
def test_every_response_carries_the_security_headers(
    app: Any, runs: Runs, route: str, params: dict[str, Any], jwt_role: str | None, status: int
) -> None:
    response = get(app, runs.recorded, route, token(app, jwt_role) if jwt_role else None, **params)

    assert response.status_code == status
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_airflow_lists_the_plugin_with_its_tab(app: Any, runs: Runs) -> None:
    response = TestClient(app).get("/api/v2/plugins", headers=bearer(token(app, "admin")))

    [plugin] = [p for p in response.json()["plugins"] if p["name"] == "runflow_outputs"]
    [fastapi_app] = plugin["fastapi_apps"]
    assert (fastapi_app["name"], fastapi_app["url_prefix"]) == ("runflow-outputs", "/runflow-outputs")
    [view] = plugin["external_views"]
    assert (view["name"], view["destination"], view["url_route"]) == (
        "Runflow outputs",
        "task_instance",
        "runflow-outputs",
    )
    assert view["href"].startswith("/runflow-outputs/outputs?dag_id={DAG_ID}&run_id={RUN_ID}&task_id={TASK_ID}")
    [receiver] = [p for p in response.json()["plugins"] if p["name"] == "runflow_callbacks"]
    assert [(a["name"], a["url_prefix"]) for a in receiver["fastapi_apps"]] == [
        ("runflow-callbacks", "/runflow-callbacks")
    ]


@pytest.mark.parametrize("lazy", ["True", "False"])
def test_the_plugins_load_once_whatever_provider_discovery(tmp_path: Path, lazy: str) -> None:
    """The entry points alone register them: listed in provider info too, Airflow 3.3 would report a duplicate."""
    code = (
        "import json; from airflow import plugins_manager as m; "
        "print(json.dumps([[p['name'] for p in m.get_plugin_info()], m.get_import_errors()]))"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": lazy}
    # From elsewhere than the source tree, whose egg-info Python would list as a second distribution.
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )

    names, errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert (names.count("runflow_outputs"), names.count("runflow_callbacks")) == (1, 1)
    # The OpenLineage provider (a test dependency) lists its own plugin both ways, and is reported so.
    errors.pop("OpenLineageProviderPlugin", None)
    assert errors == {}


def test_the_extra_link_opens_the_tab(app: Any, runs: Runs) -> None:
    client = TestClient(app, headers=bearer(token(app, "viewer")))

    def links(ti: Ti) -> dict[str, str]:
        path = f"/api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/{ti.task_id}/links"
        found: dict[str, str] = client.get(path, params={"map_index": ti.map_index}).json()["extra_links"]
        return found

    run = quote(runs.items.run_id, safe="")
    assert links(runs.items)["Runflow outputs"] == f"/dags/rf_ui_items/runs/{run}/tasks/run/plugin/runflow-outputs"
    assert links(runs.items)["Runflow batch"].startswith("https://app.runflow.invalid/batches/")
    mapped = quote(runs.mapped.run_id, safe="")
    tab = f"/dags/rf_ui_mapped/runs/{mapped}/tasks/run/mapped/1/plugin/runflow-outputs"
    assert links(runs.mapped)["Runflow outputs"] == tab
