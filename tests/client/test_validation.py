"""Local input checks: every problem names the item and the field, and nothing is sent when one is found."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_runflow.client import RunflowInputError, build_batch_request
from airflow_provider_runflow.client.errors import InputProblem
from airflow_provider_runflow.client.models import CreateBatchRequest
from airflow_provider_runflow.client.validation import parse_model_ref, validate_inputs


def problems_of(inputs: Any, **kwargs: Any) -> list[InputProblem]:
    with pytest.raises(RunflowInputError) as caught:
        build_batch_request(inputs, **kwargs)
    return caught.value.problems


@pytest.mark.parametrize("inputs", [{"prompt": "x"}, "prompt", b"x", 42, None])
def test_inputs_must_be_a_list(inputs: Any) -> None:
    [problem] = problems_of(inputs)

    assert (problem.index, problem.field) == (None, "inputs")
    assert "must be a list" in problem.message


def test_inputs_must_not_be_empty() -> None:
    [problem] = problems_of([])

    assert str(problem) == "inputs: is empty: a batch needs at least one item"


def test_a_batch_takes_at_most_100_items() -> None:
    assert len(build_batch_request([{"i": i} for i in range(100)]).input) == 100

    [problem] = problems_of([{"i": i} for i in range(101)])
    assert str(problem) == "inputs: 101 items, a batch takes at most 100"


def test_an_item_must_be_an_object() -> None:
    [problem] = problems_of([{"ok": 1}, ["not", "an", "object"]])

    assert (problem.index, problem.field) == (1, None)
    assert str(problem) == "input[1]: must be a JSON object, got list"


def test_a_value_that_is_not_json_names_item_and_field() -> None:
    [problem] = problems_of([{"ok": 1}, {"ok": 2}, {"when": object()}])

    assert (problem.index, problem.field) == (2, "when")
    assert str(problem).startswith("input[2].when: not JSON-serializable")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(value: float) -> None:
    [problem] = problems_of([{"strength": value}])

    assert (problem.index, problem.field) == (0, "strength")
    assert "not valid JSON" in problem.message


def test_nan_nested_in_a_value_is_refused() -> None:
    [problem] = problems_of([{"params": {"weights": [1.0, float("nan")]}}])

    assert (problem.index, problem.field) == (0, "params")


def test_field_names_must_be_strings() -> None:
    [problem] = problems_of([{1: "x"}])

    assert (problem.index, problem.field) == (0, "1")
    assert "field names must be strings" in problem.message


def test_client_ref_of_255_characters_is_accepted() -> None:
    assert build_batch_request([{"client_ref": "r" * 255}]).input == [{"client_ref": "r" * 255}]


def test_client_ref_longer_than_255_is_refused() -> None:
    [problem] = problems_of([{"client_ref": "ok"}, {"client_ref": "r" * 256}])

    assert str(problem) == "input[1].client_ref: 256 characters, at most 255"


def test_client_ref_must_be_a_string() -> None:
    [problem] = problems_of([{"client_ref": 7}])

    assert str(problem) == "input[0].client_ref: must be a string, got int"


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of([{"client_ref": 7}, "x", {"a": float("nan")}])

    assert [(p.index, p.field) for p in problems] == [(0, "client_ref"), (1, None), (2, "a")]


def test_many_problems_are_summarised() -> None:
    with pytest.raises(RunflowInputError, match=r"input\[0\]: .* \(and 2 more\)$"):
        build_batch_request(["x"] * 12)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example/cb", "absolute http(s) URL"),
        ("/relative/cb", "absolute http(s) URL"),
        ("https://", "absolute http(s) URL"),
        ("https://hooks.example/" + "x" * 2030, "2052 characters, at most 2048"),
        (42, "must be a string, got int"),
    ],
)
def test_callback_url_must_be_a_short_absolute_http_url(url: Any, reason: str) -> None:
    [problem] = problems_of([{"a": 1}], callback_url=url)

    assert problem.field == "callback_url"
    assert reason in problem.message


@pytest.mark.parametrize("url", ["https://hooks.example/cb", "http://127.0.0.1:8080/cb?x=1"])
def test_http_and_https_callback_urls_are_accepted(url: str) -> None:
    assert build_batch_request([{"a": 1}], callback_url=url).callback_url == url


@pytest.mark.parametrize(("metadata", "reason"), [(["a"], "must be a JSON object"), ({"t": {1, 2}}, "not JSON")])
def test_metadata_must_be_a_json_object(metadata: Any, reason: str) -> None:
    [problem] = problems_of([{"a": 1}], metadata=metadata)

    assert problem.field == "metadata"
    assert reason in problem.message


def test_validate_inputs_returns_plain_dicts_and_takes_any_sequence() -> None:
    from types import MappingProxyType

    assert validate_inputs(({"a": 1}, MappingProxyType({"b": 2}))) == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("acme/gen", ("acme", "gen")), ("acme/video/gen-v2", ("acme", "video/gen-v2")), (" acme/gen ", ("acme", "gen"))],
)
def test_model_ref_splits_owner_from_a_slug_that_may_contain_slashes(model: str, expected: tuple[str, str]) -> None:
    assert parse_model_ref(model) == expected


@pytest.mark.parametrize("model", ["", "acme", "acme/", "/gen", "acme//gen", "acme/gen/", None, 42])
def test_a_malformed_model_ref_is_an_input_error(model: Any) -> None:
    with pytest.raises(RunflowInputError, match="model: expected 'owner/slug'"):
        parse_model_ref(model)


@pytest.mark.parametrize("model", ["not-a-model", "acme/", "/gen", "acme//gen"])
async def test_nothing_is_sent_for_a_malformed_model_ref(runflow: Any, api: Any, model: str) -> None:
    api.route().respond(201, json={"id": "b1"})

    with pytest.raises(RunflowInputError, match="model: expected 'owner/slug'"):
        await runflow().call("create_batch", model, build_batch_request([{"a": 1}]))

    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    "request_body",
    [
        CreateBatchRequest(input=[{"a": float("nan")}]),
        CreateBatchRequest(input=[]),
        CreateBatchRequest(input=[{"client_ref": "r" * 256}]),
        CreateBatchRequest(input=[{"a": 1}] * 101),
        CreateBatchRequest(input=[{"a": 1}], callback_url="ftp://hooks.example/cb"),
    ],
    ids=["nan-item", "empty", "long-client-ref", "101-items", "ftp-callback"],
)
async def test_nothing_is_sent_for_a_request_built_without_validation(
    runflow: Any, api: Any, request_body: CreateBatchRequest
) -> None:
    api.route().respond(201, json={"id": "b1"})

    with pytest.raises(RunflowInputError):
        await runflow().call("create_batch", "acme/gen", request_body)

    assert api.calls.call_count == 0
