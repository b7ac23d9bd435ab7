"""Response models parse whatever Runflow publishes: nulls, missing and unknown fields, both spellings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from client_support import seed
from pydantic import TypeAdapter

from airflow_provider_runflow.client import (
    Batch,
    BatchItemRow,
    BatchItemsPage,
    CallbackDelivery,
    CallbackPayload,
    RunflowResponseError,
)
from airflow_provider_runflow.client.models import BatchItemHandle, ErrorResponse, Run

ALL_NULLABLE = [Batch, BatchItemHandle, BatchItemRow, Run, CallbackPayload, CallbackDelivery, ErrorResponse]


@pytest.mark.parametrize("model", ALL_NULLABLE, ids=lambda m: m.__name__)
def test_every_field_may_be_missing(model: type[Any]) -> None:
    parsed = model.model_validate({})

    assert all(value is None for value in parsed.model_dump().values())


@pytest.mark.parametrize("model", ALL_NULLABLE, ids=lambda m: m.__name__)
def test_every_field_may_be_null(model: type[Any]) -> None:
    parsed = model.model_validate(dict.fromkeys(model.model_fields))

    assert all(value is None for value in parsed.model_dump().values())


def test_unknown_fields_are_ignored() -> None:
    batch = Batch.model_validate({"id": "b1", "brand_new_field": {"x": 1}, "items": [{"id": "i1", "extra": 2}]})

    assert batch.id == "b1"
    assert batch.items == [BatchItemHandle(id="i1")]
    assert "brand_new_field" not in batch.model_dump()


@pytest.mark.parametrize("spelling", ["canceled", "cancelled", "CANCELED", " Canceled "])
def test_both_cancelled_spellings_parse_as_cancelled(spelling: str) -> None:
    batch = Batch.model_validate({"status_code": spelling, "items": [{"status_code": spelling}]})

    assert batch.status_code == "cancelled"
    assert batch.items is not None
    assert batch.items[0].status_code == "cancelled"


def test_callback_payload_status_is_normalised() -> None:
    assert CallbackPayload.model_validate({"status": "canceled"}).status == "cancelled"


@pytest.mark.parametrize(("raw", "expected"), [("0.0420", Decimal("0.0420")), ("12", Decimal(12)), (3, Decimal(3))])
def test_cost_is_an_exact_decimal(raw: Any, expected: Decimal) -> None:
    assert BatchItemRow.model_validate({"cost": raw}).cost == expected
    assert Batch.model_validate({"cost": raw}).cost == expected


def test_cost_keeps_decimal_precision_that_a_float_would_lose() -> None:
    assert Batch.model_validate({"cost": "0.1"}).cost == Decimal("0.1")


@pytest.mark.parametrize("raw", ["<string>", "", "NaN", "free", True])
def test_a_cost_that_is_not_a_number_reads_as_unknown(raw: Any) -> None:
    assert Batch.model_validate({"id": "b1", "cost": raw}) == Batch(id="b1")


def test_a_status_that_is_not_a_string_is_a_validation_error_not_a_crash() -> None:
    with pytest.raises(ValueError, match="status_code"):
        Batch.model_validate({"status_code": 3})


@pytest.mark.parametrize(
    ("body", "next_cursor", "previous_cursor"),
    [
        ({"items": [], "next": "n1", "previous": "p1"}, "n1", "p1"),
        ({"items": [], "next_pq": "n2", "prev_pq": "p2"}, "n2", "p2"),
        ({"items": []}, None, None),
        ({"next": None, "previous": None}, None, None),
    ],
    ids=["openapi-names", "docs-page-names", "absent", "null"],
)
def test_items_page_cursors_under_either_published_name(
    body: dict[str, Any], next_cursor: str | None, previous_cursor: str | None
) -> None:
    page = BatchItemsPage.model_validate(body)

    assert (page.next, page.previous) == (next_cursor, previous_cursor)
    assert page.items == []


def test_seed_batch_detail_parses() -> None:
    batch = Batch.model_validate(seed("batch_detail"))

    assert batch.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert batch.items_total == 123
    assert batch.created_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert batch.items is not None
    assert batch.items[0].sequence_index == 123


def test_seed_batch_creation_response_parses() -> None:
    batch = Batch.model_validate(seed("batch_created"))

    assert batch.items is not None
    assert batch.items[0].run_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def test_seed_items_page_parses_with_embedded_run() -> None:
    page = BatchItemsPage.model_validate(seed("batch_items_page"))

    assert (page.first, page.next, page.previous) == ("<string>", "<string>", "<string>")
    assert page.items[0].run is not None
    assert page.items[0].run.status_code == "queued"


def test_seed_callback_history_parses() -> None:
    deliveries = TypeAdapter(list[CallbackDelivery]).validate_python(seed("batch_callback"))

    assert deliveries[0].payload is not None
    assert deliveries[0].payload.event == "batch.succeeded"
    assert deliveries[0].payload.status == "succeeded"
    assert deliveries[0].attempts is not None
    assert deliveries[0].attempts[0].status_code == 123


async def test_client_returns_the_seed_batch_detail(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").respond(200, json=seed("batch_detail"))

    batch = await runflow().call("get_batch", "b1")

    assert batch == Batch.model_validate(seed("batch_detail"))


async def test_client_returns_the_seed_callback_history(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1/callback").respond(200, json=seed("batch_callback"))

    deliveries = await runflow().call("get_batch_callback", "b1")

    assert [d.id for d in deliveries] == ["3c90c3cc-0d44-4b50-8888-8dd25736052a"]


async def test_a_body_that_does_not_match_the_schema_is_a_response_error(runflow: Any, api: Any) -> None:
    api.get("/v1/batches/b1").respond(200, json=["not", "a", "batch"])

    with pytest.raises(RunflowResponseError, match="does not match the API schema"):
        await runflow().call("get_batch", "b1")
