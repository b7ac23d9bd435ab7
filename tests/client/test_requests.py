"""What the clients put on the wire: headers, paths, bodies, query parameters, and cursor following."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from client_support import API_KEY

from airflow_provider_runflow import __version__
from airflow_provider_runflow.client import ItemsQuery, RunflowResponseError, build_batch_request

CREATED = {"id": "b1", "status_code": "queued"}
ITEMS_PATH = "/v1/batches/b1/items"


async def test_every_request_carries_auth_accept_and_user_agent(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").respond(200, json=CREATED)

    await runflow().call("get_batch", "b1")

    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"airflow-provider-runflow/{__version__}"
    assert "X-Organization-Id" not in headers


async def test_organization_header_is_sent_when_configured(runflow: Any, api: Any) -> None:
    route = api.get("/v1/batches/b1").respond(200, json=CREATED)

    await runflow(organization_id="org_7").call("get_batch", "b1")

    assert route.calls.last.request.headers["X-Organization-Id"] == "org_7"


async def test_create_batch_keeps_the_slashes_of_a_nested_slug(runflow: Any, api: Any) -> None:
    route = api.post("/v1/models/acme/video/gen-v2/batches").respond(201, json=CREATED)

    await runflow().call("create_batch", "acme/video/gen-v2", build_batch_request([{"prompt": "x"}]))

    assert route.call_count == 1
    assert route.calls.last.request.url.raw_path == b"/v1/models/acme/video/gen-v2/batches"


async def test_create_batch_body_leaves_out_what_is_not_set(runflow: Any, api: Any) -> None:
    route = api.post("/v1/models/acme/gen/batches").respond(201, json=CREATED)

    await runflow().call("create_batch", "acme/gen", build_batch_request([{"prompt": "x", "client_ref": "r1"}]))

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"input": [{"prompt": "x", "client_ref": "r1"}]}
    assert "Idempotency-Key" not in request.headers


async def test_create_batch_sends_metadata_callback_and_idempotency_key(runflow: Any, api: Any) -> None:
    route = api.post("/v1/models/acme/gen/batches").respond(201, json=CREATED)
    body = build_batch_request([{"prompt": "x"}], metadata={"run": "r"}, callback_url="https://hooks.example/cb")

    batch = await runflow().call("create_batch", "acme/gen", body, idempotency_key="dag-run-42")

    request = route.calls.last.request
    assert batch.id == "b1"
    assert request.headers["Idempotency-Key"] == "dag-run-42"
    assert json.loads(request.content) == {
        "input": [{"prompt": "x"}],
        "metadata": {"run": "r"},
        "callback_url": "https://hooks.example/cb",
    }


async def test_an_id_cannot_escape_its_path_segment(runflow: Any, api: Any) -> None:
    route = api.get(url__regex=r".*").respond(200, json=CREATED)

    await runflow().call("get_batch", "../admin/x")

    assert route.calls.last.request.url.raw_path == b"/v1/batches/..%2Fadmin%2Fx"


@pytest.mark.parametrize("batch_id", ["", "   "])
async def test_an_empty_batch_id_is_refused_before_sending(runflow: Any, api: Any, batch_id: str) -> None:
    with pytest.raises(ValueError, match="batch_id must be a non-empty string"):
        await runflow().call("get_batch", batch_id)

    assert api.calls.call_count == 0


def test_items_query_parameters() -> None:
    query = ItemsQuery(q="status_code.EQ:'failed'", limit=50, sort_by="sequence_index", embed="run", from_prev=True)

    assert query.params() == {
        "q": "status_code.EQ:'failed'",
        "limit": "50",
        "sort_by": "sequence_index",
        "embed": "run",
        "from_prev": "true",
    }
    assert ItemsQuery().params() == {"limit": "500"}


@pytest.mark.parametrize("limit", [1, 500])
def test_items_limit_accepts_1_to_500(limit: int) -> None:
    assert ItemsQuery(limit=limit).params()["limit"] == str(limit)


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_items_limit_outside_1_to_500_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 500"):
        ItemsQuery(limit=limit)


async def test_list_batch_items_sends_the_query(runflow: Any, api: Any) -> None:
    route = api.get(ITEMS_PATH).respond(200, json={"items": [{"id": "i1"}]})

    page = await runflow().call("list_batch_items", "b1", ItemsQuery(q="status_code:failed", limit=10))

    assert [item.id for item in page.items] == ["i1"]
    assert dict(route.calls.last.request.url.params) == {"q": "status_code:failed", "limit": "10"}


def paged(pages: dict[str | None, dict[str, Any]]) -> Any:
    """A respx side effect serving ``pages`` by their ``pq`` query parameter (None: the first page)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("pq")])

    return answer


def ids(items: list[Any]) -> list[str | None]:
    return [item.id for item in items]


async def test_items_iterator_follows_bare_token_cursors(runflow: Any, api: Any) -> None:
    route = api.get(ITEMS_PATH).mock(
        side_effect=paged(
            {
                None: {"items": [{"id": "i1"}, {"id": "i2"}], "next": "t2"},
                "t2": {"items": [{"id": "i3"}], "next_pq": "t3"},
                "t3": {"items": [{"id": "i4"}], "next": None},
            }
        )
    )

    items = await runflow().all_items("b1", ItemsQuery(q="status_code:failed", embed="run"))

    assert ids(items) == ["i1", "i2", "i3", "i4"]
    assert route.call_count == 3
    assert all(call.request.url.params["q"] == "status_code:failed" for call in route.calls)
    assert all(call.request.url.params["embed"] == "run" for call in route.calls)


@pytest.mark.parametrize(
    "cursor",
    [
        "https://api.runflow.test/v1/batches/b1/items?pq=t2&limit=500",
        "https://elsewhere.example/v1/batches/b1/items?pq=t2&limit=500",
        "/v1/batches/b1/items?pq=t2&limit=500",
    ],
    ids=["same-host-url", "other-host-url", "relative-url"],
)
async def test_items_iterator_follows_url_cursors_on_the_configured_host(runflow: Any, api: Any, cursor: str) -> None:
    route = api.get(ITEMS_PATH).mock(
        side_effect=paged(
            {
                None: {"items": [{"id": "i1"}], "next": cursor},
                "t2": {"items": [{"id": "i2"}], "next": None},
            }
        )
    )
    elsewhere = api.route(host="elsewhere.example").respond(200, json={"items": [{"id": "stolen"}]})

    items = await runflow().all_items("b1")

    assert ids(items) == ["i1", "i2"]
    assert elsewhere.call_count == 0
    assert [call.request.url.host for call in route.calls] == ["api.runflow.test"] * 2


async def test_items_iterator_stops_at_an_empty_page(runflow: Any, api: Any) -> None:
    route = api.get(ITEMS_PATH).mock(
        side_effect=paged({None: {"items": [{"id": "i1"}], "next": "t2"}, "t2": {"items": [], "next": "t3"}})
    )

    assert ids(await runflow().all_items("b1")) == ["i1"]
    assert route.call_count == 2


async def test_items_iterator_detects_a_repeating_cursor(runflow: Any, api: Any) -> None:
    api.get(ITEMS_PATH).mock(
        side_effect=paged(
            {None: {"items": [{"id": "i1"}], "next": "t2"}, "t2": {"items": [{"id": "i2"}], "next": "t2"}}
        )
    )

    with pytest.raises(RunflowResponseError, match="cursor 't2' repeats"):
        await runflow().all_items("b1")


async def test_items_iterator_walks_backwards_with_from_prev(runflow: Any, api: Any) -> None:
    route = api.get(ITEMS_PATH).mock(
        side_effect=paged(
            {
                "end": {"items": [{"id": "i3"}], "next": "never", "prev_pq": "t2"},
                "t2": {"items": [{"id": "i2"}], "previous": None},
            }
        )
    )

    items = await runflow().all_items("b1", ItemsQuery(pq="end", from_prev=True))

    assert ids(items) == ["i3", "i2"]
    assert all(call.request.url.params["from_prev"] == "true" for call in route.calls)
