"""``GET /v1/batches/{batch_id}/items``: keyset pagination, sorting, projection, embedding and filters."""

from __future__ import annotations

import json

import pytest
from emulator_support import wait_terminal

from airflow_provider_runflow.client import (
    ItemsQuery,
    RunflowClient,
    RunflowValidationError,
    build_batch_request,
    calls,
)
from airflow_provider_runflow.client.calls import ApiCall


def _batches(client: RunflowClient, total: int) -> dict[str, int]:
    """Create batches holding ``total`` items (100 per batch, the rest in the last); returns id → size."""
    sizes = {}
    for start in range(0, total, 100):
        size = min(100, total - start)
        inputs = [
            {"text": f"{start + i}", "client_ref": f"ref-{start + i}", "fail": (start + i) % 10 == 0}
            for i in range(size)
        ]
        sizes[client.send(calls.create_batch("acme/test-model", build_batch_request(inputs))).id or ""] = size
    for batch_id in sizes:
        wait_terminal(client, batch_id)
    return sizes


@pytest.mark.parametrize("limit", [500, 7])
def test_pages_cover_1234_items_in_order_without_duplicates(client: RunflowClient, limit: int) -> None:
    sizes = _batches(client, 1234)
    seen: list[str] = []
    for batch_id, size in sizes.items():
        pages = client.send(calls.batch_item_pages(batch_id, ItemsQuery(limit=limit, sort_by="sequence_index:asc")))
        indexes = [row.sequence_index for page in pages for row in page.items]
        assert indexes == list(range(size))
        assert all(len(page.items) <= limit for page in pages)
        assert len(pages) == -(-size // limit)
        seen += [row.id or "" for page in pages for row in page.items]
    assert len(seen) == 1234 == len(set(seen))


def test_backward_pages_mirror_forward_ones(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 25)
    forward = client.send(calls.batch_item_pages(batch_id, ItemsQuery(limit=10)))
    last = forward[-1]
    assert last.previous is not None
    assert last.next is None
    back = client.send(calls.list_batch_items(batch_id, ItemsQuery(limit=10, pq=last.previous, from_prev=True)))
    assert [row.sequence_index for row in back.items] == list(range(10, 20))
    assert back.next is not None
    assert back.previous is not None


def test_descending_sort(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 12)
    rows = client.send(calls.batch_items(batch_id, ItemsQuery(limit=5, sort_by="sequence_index:desc")))
    assert [row.sequence_index for row in rows] == list(range(11, -1, -1))


@pytest.mark.parametrize("q", ["status_code.EQ:'failed'", "status_code:failed", "status_code.EQ:'FAILED'"])
def test_filter_on_status(client: RunflowClient, q: str) -> None:
    (batch_id,) = _batches(client, 30)
    rows = client.send(calls.batch_items(batch_id, ItemsQuery(q=q, limit=2)))
    assert [row.sequence_index for row in rows] == [0, 10, 20]
    assert {row.status_code for row in rows} == {"failed"}


def test_filters_combine_with_and(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 30)
    rows = client.send(
        calls.list_batch_items(batch_id, ItemsQuery(q="status_code.EQ:'succeeded' AND client_ref.EQ:'ref-7'"))
    )
    assert [row.sequence_index for row in rows.items] == [7]


def test_fields_project_rows(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 3)
    raw = client.send(
        ApiCall("GET", f"/v1/batches/{batch_id}/items", json.loads, params={"fields": "id,sequence_index,output"})
    )
    assert [sorted(row) for row in raw["items"]] == [["id", "output", "sequence_index"]] * 3


def test_embed_run_adds_the_run(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 2)
    rows = client.send(calls.list_batch_items(batch_id, ItemsQuery(embed="run"))).items
    assert all(row.run is not None and row.run.id == row.run_id and row.run.batch_id == batch_id for row in rows)
    assert rows[0].run is not None
    assert (rows[0].run.status_code, rows[0].run.failure_code) == ("failed", "MODEL_ERROR")
    assert all(row.run is None for row in client.send(calls.list_batch_items(batch_id)).items)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "many"},
        {"fields": "id,secret"},
        {"embed": "model"},
        {"sort_by": "cost:asc"},
        {"q": "status_code.GT:'a'"},
        {"q": "input.EQ:'x'"},
        {"pq": "not-a-cursor"},
    ],
)
def test_invalid_queries_are_rejected(client: RunflowClient, params: dict[str, str]) -> None:
    (batch_id,) = _batches(client, 1)
    with pytest.raises(RunflowValidationError):
        client.send(ApiCall("GET", f"/v1/batches/{batch_id}/items", json.loads, params=params))


def test_cursor_of_another_sort_is_rejected(client: RunflowClient) -> None:
    (batch_id,) = _batches(client, 5)
    page = client.send(calls.list_batch_items(batch_id, ItemsQuery(limit=2)))
    assert page.next is not None
    with pytest.raises(RunflowValidationError):
        client.send(calls.list_batch_items(batch_id, ItemsQuery(limit=2, pq=page.next, sort_by="status_code:asc")))
