"""The "Runflow outputs" page through Airflow's API app: what it shows, page by page and filter by filter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from outputs_support import Runs, Ti, bearer, run_scenario, token

pytestmark = pytest.mark.airflow_db


@pytest.fixture(scope="module")
def client(app: Any) -> TestClient:
    """A viewer: read access to every DAG, which is all the page needs."""
    return TestClient(app, headers=bearer(token(app, "viewer")))


def items(client: TestClient, ti: Ti, **params: Any) -> dict[str, Any]:
    response = client.get(ti.url("items", **params))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_items_come_in_input_order_under_the_runs_header(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.items)

    assert [item["index"] for item in page["items"]] == list(range(12))
    assert [item["client_ref"] for item in page["items"]] == [f"ref-{i}" for i in range(12)]
    assert page["counts"] == {"all": 12, "succeeded": 10, "failed": 2, "cancelled": 0, "other": 0, "not_succeeded": 2}
    assert (page["summary"]["total"], page["summary"]["failed"], page["summary"]["cost"]) == (12, 2, "0.0100")
    assert page["state"] == "success"
    [batch] = page["batches"]
    assert batch["url"] == f"https://app.runflow.invalid/batches/{batch['batch_id']}"
    failed = page["items"][3]
    assert (failed["status"], failed["bucket"], failed["cost"]) == ("failed", "failed", "0.0000")
    assert failed["error"] == "MODEL_ERROR: acme/test-model failed on purpose (input fail=true)"
    assert page["items"][0]["output"]["text"] == "ITEM-0"


def test_failed_filter_shows_only_the_failed_items(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.items, status="failed")

    assert [(item["index"], item["status"]) for item in page["items"]] == [(3, "failed"), (7, "failed")]
    assert (page["matching"], page["pages"]) == (2, 1)


@pytest.mark.parametrize(
    ("params", "indexes", "pages"),
    [
        ({"per_page": 50}, list(range(50)), 3),
        ({"per_page": 50, "page": 3}, list(range(100, 130)), 3),
        ({"per_page": 5, "status": "failed", "page": 2}, [38, 45, 52, 59, 66], 4),
        ({"status": "cancelled"}, [49, 99], 1),
        ({"per_page": 50, "page": 9}, [], 3),
    ],
)
def test_pages_and_filters_of_a_recorded_list(
    client: TestClient, runs: Runs, params: dict[str, Any], indexes: list[int], pages: int
) -> None:
    page = items(client, runs.recorded, **params)

    assert [item["index"] for item in page["items"]] == indexes
    assert page["pages"] == pages


@pytest.mark.parametrize("ti_name", ["recorded", "recorded_jsonl"])
def test_list_and_json_lines_tasks_show_the_same_pages(client: TestClient, runs: Runs, ti_name: str) -> None:
    ti = getattr(runs, ti_name)
    for params in ({"per_page": 40, "page": 2}, {"status": "not_succeeded", "per_page": 7, "page": 3}):
        page = items(client, ti, **params)
        expected = items(client, runs.recorded, **params)
        assert [item["client_ref"] for item in page["items"]] == [item["client_ref"] for item in expected["items"]]
        assert page["counts"] == expected["counts"]


def test_json_lines_task_reads_the_operators_results_file(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.jsonl, per_page=50, page=2)

    ti = runs.jsonl
    assert page["output_path"] == f"{runs.storage.as_uri()}/{ti.dag_id}/{ti.run_id}/{ti.task_id}/results.jsonl"
    assert [item["index"] for item in page["items"]] == list(range(50, 100))
    assert len(page["batches"]) == 3
    assert all(batch["url"] and batch["url"].endswith(batch["batch_id"]) for batch in page["batches"])
    assert [item["index"] for item in items(client, runs.jsonl, status="failed")["items"]] == [5]


def test_results_file_outside_the_storage_roots_is_not_read(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.outside)

    assert page["items"] == []
    assert page["notice"].endswith("outside [runflow] ui_storage_roots: this page may not read them.")


def test_results_file_outside_the_tasks_own_folder_is_not_read(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.elsewhere)

    assert page["items"] == []
    assert "outside this task instance's folder under [runflow] ui_storage_roots" in page["notice"]


def test_results_file_under_a_shared_root_is_read_wherever_it_is(
    client: TestClient, runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__UI_SHARED_STORAGE_ROOTS", runs.storage.as_uri())

    page = items(client, runs.elsewhere)

    assert (page["notice"], len(page["items"])) == (None, 48)


def test_each_mapped_task_instance_shows_its_own_items(client: TestClient, runs: Runs) -> None:
    first = Ti(runs.mapped.dag_id, runs.mapped.run_id, map_index=0)

    assert len(items(client, first)["items"]) == 2
    assert len(items(client, runs.mapped)["items"]) == 3
    assert items(client, runs.mapped)["map_index"] == 1


@pytest.mark.parametrize("unreplaced", ["{MAP_INDEX}", "", "x"])
def test_an_unmapped_address_of_a_mapped_task_lists_its_map_indexes(
    client: TestClient, runs: Runs, unreplaced: str
) -> None:
    page = items(client, Ti(runs.mapped.dag_id, runs.mapped.run_id, map_index=unreplaced))

    assert (page["map_index"], page["map_indexes"], page["items"]) == (-1, [0, 1], [])
    assert "mapped" in page["notice"]


def test_runflow_urls_without_https_are_offered_as_links_not_inlined(client: TestClient, runs: Runs) -> None:
    """The emulator's media origin speaks plain http; Runflow's https URLs inline (test_outputs_logic.py)."""
    [first, *_] = items(client, runs.mapped)["items"]

    [preview] = first["previews"]
    assert first["output"]["image_url"].startswith("http://")
    assert preview == {"kind": "link", "src": first["output"]["image_url"], "stored": False, "note": None}


def test_stored_media_are_previewed_through_the_media_route(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.recorded, per_page=6)

    [stored] = page["items"][0]["previews"]
    assert stored["kind"] == "image"
    assert stored["stored"] is True
    assert stored["src"] == "media?" + runs.recorded.query(item=0, media=0)
    response = client.get(f"/runflow-outputs/{stored['src']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == runs.media_file(runs.recorded, 0).read_bytes()
    # Item 5 has no stored media: its Runflow URL is shown instead.
    assert [p["src"] for p in page["items"][5]["previews"]] == [page["items"][5]["output"]["image_url"]]


def test_media_of_a_json_lines_task_are_served_from_its_results_file(client: TestClient, runs: Runs) -> None:
    response = client.get(runs.recorded_jsonl.url("media", item=4, media=0))

    assert response.status_code == 200
    assert response.content == runs.media_file(runs.recorded_jsonl, 4).read_bytes()


def test_page_renders_the_grid(client: TestClient, runs: Runs) -> None:
    response = client.get(runs.recorded.url("outputs", per_page=12))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.count('<article class="item') == 12
    assert '<img src="media?dag_id=rf_ui_recorded&amp;' in html
    assert "SAFETY_FILTER: input 3 was refused" in html
    assert "2 attempts" in html
    assert "Page 1 of 11" in html
    assert 'aria-current="page">All (130)' in html
    assert "Failed (19)" in html
    assert "Cancelled (2)" in html
    assert "<script" not in html


def test_non_media_outputs_are_shown_as_formatted_json(client: TestClient, runs: Runs) -> None:
    html = client.get(runs.items.url("outputs")).text

    assert "<pre>{\n  &#34;text&#34;: &#34;ITEM-0&#34;," in html


def test_an_unknown_task_instance_is_not_found(client: TestClient, runs: Runs) -> None:
    response = client.get(Ti(runs.items.dag_id, runs.items.run_id, task_id="nope").url("items"))

    assert (response.status_code, response.json()) == (404, {"detail": "No such task instance"})


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"page": 0}, {"per_page": 1000}, {"page": "x"}])
def test_bad_page_requests_are_refused(client: TestClient, runs: Runs, params: dict[str, Any]) -> None:
    assert client.get(runs.items.url("items", **params)).status_code == 422


def test_no_page_carries_the_runflow_api_key(client: TestClient, runs: Runs) -> None:
    for ti in (runs.items, runs.jsonl, runs.mapped):
        for route in ("outputs", "items"):
            assert runs.api_key not in client.get(ti.url(route)).text


def test_a_task_failed_by_its_policy_shows_its_summary(client: TestClient, runs: Runs) -> None:
    page = items(client, runs.failed)

    assert page["state"] == "failed"
    assert (page["summary"]["total"], page["summary"]["failed"]) == (4, 1)
    [item] = page["items"]  # the summary names the failed items (docs/failure-policy.md)
    assert (item["index"], item["client_ref"], item["status"]) == (1, "ref-1", "failed")
    assert page["notice"] == "The task returned no results; these are the failed items its summary names."


def test_failed_items_rounds_and_attempts_of_the_summary_are_shown(app: Any, client: TestClient, runs: Runs) -> None:
    """The summary of a run with retry rounds, as the operator's ``retry_failed_items`` records it."""
    rounds = [
        {"round": 0, "items": 4, "batches": 1, "succeeded": 2, "failed": 2, "cancelled": 0, "cost": "0.0020"},
        {"round": 1, "items": 2, "batches": 1, "succeeded": 1, "failed": 1, "cancelled": 0, "cost": "0.0010"},
    ]
    summary = {
        **items(client, runs.failed)["summary"],
        "rounds": rounds,
        "failed_items": [{"index": 1, "client_ref": "ref-1", "status": "failed", "attempts": 2,
                          "error": {"code": "MODEL_ERROR", "message": "failed on purpose"}}],
    }  # fmt: skip
    ti = Ti("rf_ui_failed", run_scenario("rf_ui_failed", state="failed"))
    xcom = f"/api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/run/xcomEntries/summary"
    assert client.patch(xcom, json={"value": summary}, headers=bearer(token(app, "user"))).status_code == 200

    page = items(client, ti)
    [item] = page["items"]
    assert (item["index"], item["attempts"], item["error"]) == (1, 2, "MODEL_ERROR: failed on purpose")
    assert page["notice"] == "The task returned no results; these are the failed items its summary names."
    assert page["rounds"] == summary["rounds"]
    html = client.get(ti.url("outputs")).text
    assert "<dt>Rounds</dt><dd>2</dd>" in html
    header = "".join(f'<th scope="col">{name}</th>' for name in ("Round", "Items", "Batches", "Succeeded", "Failed"))
    assert header in html
    # Numbered as the task log numbers them ("round 1: re-running 2 failed items in 1 batch").
    assert '<tr><th scope="row">1</th><td>2</td><td>1</td><td>1</td><td>1</td><td>0</td><td>0.0010</td></tr>' in html
    assert "2 attempts" in html


@pytest.mark.parametrize(
    ("task_id", "notice"),
    [
        ("greet", "This task's return value is not a list of Runflow result entries."),
        ("nothing", "This task (_PythonDecoratedOperator) records no Runflow results."),
        ("refused", "The task failed before recording results: its log says why."),
    ],
)
def test_a_task_without_runflow_results_says_so(client: TestClient, runs: Runs, task_id: str, notice: str) -> None:
    page = items(client, Ti(runs.other.dag_id, runs.other.run_id, task_id=task_id))

    assert (page["items"], page["notice"]) == ([], notice)
