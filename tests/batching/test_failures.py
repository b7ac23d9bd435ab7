from __future__ import annotations

from typing import Any

from airflow_provider_runflow.batching.failures import describe_failures, error_label
from airflow_provider_runflow.batching.results import Tally


def entry(index: int, code: str | None = "SAFETY_FILTER", ref: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": "prompt refused"} if code else None
    return {"index": index, "client_ref": ref, "status": "failed", "error": error, "cost": "0", "batch_id": "b"}


def test_identical_errors_are_grouped_in_input_order_of_their_first_item() -> None:
    items = [entry(2, ref="cat"), entry(5, code="TIMEOUT"), entry(9)]
    assert describe_failures(items, 3) == (
        "  2 \u00d7 SAFETY_FILTER: prompt refused: input[2] (client_ref 'cat'), input[9]\n"
        "  1 \u00d7 TIMEOUT: prompt refused: input[5]"
    )


def test_only_the_first_20_are_named_and_the_rest_counted() -> None:
    text = describe_failures([entry(i) for i in range(100)], 250)
    assert text.startswith("  20 \u00d7 SAFETY_FILTER: prompt refused: input[0], input[1],")
    assert "input[19]\n  and 230 more" in text
    assert "input[20]" not in text


def test_an_item_without_error_is_named_by_its_status() -> None:
    assert error_label({"status": "cancelled", "error": None}) == "cancelled (no error given)"


def test_the_tally_keeps_at_most_100_failed_items_but_counts_them_all() -> None:
    tally = Tally()
    tally.add([entry(i) for i in range(150)])
    tally.add([{**entry(150), "status": "succeeded", "error": None}])
    assert (tally.not_succeeded, len(tally.failed), tally.failed[-1]["index"]) == (150, 100, 99)
    assert tally.failed[0] == {
        "index": 0,
        "client_ref": None,
        "status": "failed",
        "error": {"code": "SAFETY_FILTER", "message": "prompt refused"},
        "batch_id": "b",
    }
