from __future__ import annotations

import json

import pytest

from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

KWARGS = {
    "batch_ids": ["b-1", "b-2"],
    "deadline": 1_900_000_000.5,
    "runflow_conn_id": "runflow_prod",
    "poll_interval": 15.0,
    "max_poll_failures": 4,
    "poll_concurrency": 3,
    "cancel_on_kill": True,
    "expected_items": [100, 7],
    "carry": {
        "submitted_at": 1_899_990_000.25,
        "rounds": [
            {
                "number": 0,
                "batch_ids": ["b-0"],
                "expected_items": [9],
                "indices": None,
                "batches": [{"batch_id": "b-0"}],
            },
            {"number": 1, "batch_ids": ["b-1", "b-2"], "expected_items": [100, 7], "indices": list(range(107))},
        ],
    },
    "resume_after": 1_899_990_010.25,
}


def test_serialize_returns_every_argument_and_the_installed_classpath() -> None:
    classpath, kwargs = RunflowBatchTrigger(**KWARGS).serialize()  # type: ignore[arg-type]
    assert classpath == "airflow_provider_runflow.triggers.batch.RunflowBatchTrigger"
    assert kwargs == KWARGS


def test_serialized_trigger_round_trips_through_json() -> None:
    _, kwargs = RunflowBatchTrigger(**KWARGS).serialize()  # type: ignore[arg-type]
    again = RunflowBatchTrigger(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == RunflowBatchTrigger(**KWARGS).serialize()  # type: ignore[arg-type]


def test_serialized_trigger_holds_no_secret_and_no_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "rf_live_SECRET_should_not_leak"
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_PROD", json.dumps({"conn_type": "runflow", "password": key}))
    _, kwargs = RunflowBatchTrigger(**KWARGS).serialize()  # type: ignore[arg-type]
    text = json.dumps(kwargs)
    assert key not in text
    assert "input" not in text


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_ids": []},
        {"poll_interval": 0},
        {"poll_concurrency": 0},
        {"max_poll_failures": 0},
        {"expected_items": [100]},
        {"carry": {"submitted_at": object()}},
    ],
)
def test_invalid_arguments_are_refused_at_construction(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"batch_ids|poll_interval|poll_concurrency|expected_items|carry"):
        RunflowBatchTrigger(**{**KWARGS, **bad})  # type: ignore[arg-type]
