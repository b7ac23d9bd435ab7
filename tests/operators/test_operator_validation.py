"""Bad input fails before any request, with an error naming the item and the field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

OK = {"text": "fine"}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"inputs": []}, "inputs: is empty"),
        ({"inputs": {"text": "x"}}, "inputs: must be a list, got dict"),
        ({"inputs": "[{'text': 'x'}]"}, "inputs: must be a list, got str"),
        ({"inputs": [OK, OK, "text"]}, "input[2]: must be a JSON object, got str"),
        ({"inputs": [OK, {"text": object()}]}, "input[1].text: not JSON-serializable"),
        ({"inputs": [OK, {"text": "x", "strength": math.nan}]}, "input[1].strength: nan is not valid JSON"),
        ({"inputs": [OK, {1: "x"}]}, "input[1].1: field names must be strings"),
        ({"inputs": [*[OK] * 4, {"text": "x", "client_ref": "r" * 256}]}, "input[4].client_ref: 256 characters"),
        ({"inputs": [{"text": "x", "client_ref": 7}]}, "input[0].client_ref: must be a string, got int"),
        ({"callback_url": "https://example.com/" + "x" * 2048}, "callback_url: 2068 characters, at most 2048"),
        ({"callback_url": "ftp://example.com/cb"}, "callback_url: must be an absolute http(s) URL"),
        ({"metadata": ["not", "a", "dict"]}, "metadata: must be a JSON object, got list"),
        ({"model": "no-slash"}, "model: expected 'owner/slug'"),
    ],
)
def test_bad_input_fails_without_retry_or_request(
    runflow_connection: RunflowEmulator, overrides: dict[str, Any], expected: str
) -> None:
    arguments: dict[str, Any] = {"task_id": "run", "model": "acme/test-model", "inputs": [OK], **overrides}
    operator = RunflowBatchOperator(**arguments)
    with pytest.raises(AirflowFailException, match="Invalid Runflow batch input") as raised:
        operator.execute({})  # type: ignore[arg-type]
    assert expected in str(raised.value)
    assert runflow_connection.counters()["requests"] == {}


def test_every_bad_item_is_named_at_once(runflow_connection: RunflowEmulator) -> None:
    inputs = [OK, "x", OK, {"text": "y", "client_ref": "r" * 300}]
    with pytest.raises(AirflowFailException) as raised:
        RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=inputs).execute({})  # type: ignore[arg-type]
    assert "input[1]: must be a JSON object" in str(raised.value)
    assert "input[3].client_ref: 300 characters" in str(raised.value)


@pytest.mark.parametrize("arguments", [{"chunk_size": 0}, {"chunk_size": 101}, {"poll_interval": 0}, {"timeout": -1}])
def test_bad_operator_arguments_are_refused_when_the_dag_is_defined(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(arguments))):
        RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=[OK], **arguments)


class _TI:
    dag_id, task_id, run_id, map_index = "dag", "run", "manual__1", -1

    def xcom_push(self, key: str, value: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        ("acme/no-such-model", [OK]),  # 404
        ("acme/single-only", [{"prompt": "a cat"}]),  # 422 not batch-capable
        ("acme/test-model", [{"prompt": "no text"}]),  # 422 per item
    ],
)
def test_a_request_runflow_refuses_for_good_fails_without_retry(
    runflow_connection: RunflowEmulator, model: str, inputs: list[dict[str, Any]]
) -> None:
    operator = RunflowBatchOperator(task_id="run", model=model, inputs=inputs)
    with pytest.raises(AirflowFailException):
        operator.execute({"ti": _TI()})  # type: ignore[arg-type]
    assert runflow_connection.counters()["batches_created"] == 0


def test_a_rejected_key_fails_so_that_a_retry_may_succeed(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_connection.connection_json(api_key="rf_live_revoked"))
    operator = RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=[OK])
    with pytest.raises(AirflowException) as raised:
        operator.execute({"ti": _TI()})  # type: ignore[arg-type]
    assert not isinstance(raised.value, AirflowFailException)
    assert "HTTP 401" in str(raised.value)
