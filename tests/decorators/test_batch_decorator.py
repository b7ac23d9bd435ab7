"""``@task.runflow_batch`` end to end: dag.test() runs TaskFlow DAGs, the trigger in-process, against the emulator."""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
from airflow.models.dagrun import DagRun
from airflow.sdk import DAG, task
from airflow_support import scenario, states, xcom

from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")


def taskflow() -> Any:
    return importlib.import_module("runflow_taskflow")


def rendered(run: DagRun, task_id: str) -> dict[str, Any]:
    """A task's fields as the Rendered Templates tab shows them."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == task_id]
    return RenderedTaskInstanceFields.get_templated_fields(ti) or {}


@pytest.mark.parametrize("mode", ["deferred", "blocking"])
def test_the_function_builds_the_inputs_and_the_entries_expand_downstream(
    runflow_connection: RunflowEmulator, mode: str
) -> None:
    run = scenario(f"rf_taskflow_{mode}").test()
    assert run.state == "success"
    products = taskflow().PRODUCTS
    entries = xcom(run, "posters")
    assert [(e["index"], e["client_ref"], e["status"]) for e in entries] == [
        (i, name, "succeeded") for i, name in enumerate(products)
    ]
    batch_ids = xcom(run, "posters", key="batch_ids")
    assert [e["batch_id"] for e in entries] == [batch_ids[0], batch_ids[0], batch_ids[1]]  # chunk_size=2
    assert xcom(run, "posters", key="summary")["succeeded"] == 3
    headlines = [xcom(run, "headline", map_index=i) for i in range(len(products))]
    assert headlines == [f"{name}: {{{{ POSTER }}}} OF {name.upper()}" for name in products]  # style from params
    assert rendered(run, "posters")["inputs"][0] == {"text": "{{ poster }} of kettle", "client_ref": "kettle",
                                                     "run_seconds": 0.02}  # fmt: skip
    assert runflow_connection.counters()["batches_created"] == 2


def test_partial_expand_maps_the_function_and_each_mapped_task_runs_its_own_batches(
    runflow_connection: RunflowEmulator,
) -> None:
    run = scenario("rf_taskflow_mapped").test()
    assert run.state == "success"
    assert {k: v for k, v in states(run).items() if k[0] == "captions"} == {
        ("captions", 0): "success",
        ("captions", 1): "success",
    }
    first, second = (xcom(run, "captions", map_index=i) for i in (0, 1))
    assert [(e["index"], e["client_ref"]) for e in first] == [(0, "a"), (1, "b"), (2, "c")]
    assert [(e["index"], e["client_ref"]) for e in second] == [(0, "d")]
    assert [xcom(run, "joined", map_index=i) for i in (0, 1)] == ["INK A | INK B | INK C", "INK D"]
    batch_ids = [xcom(run, "captions", key="batch_ids", map_index=i) for i in (0, 1)]
    assert [len(ids) for ids in batch_ids] == [2, 1]
    assert runflow_connection.counters()["batches_created"] == 3


def test_a_resumed_task_rebuilds_the_inputs_its_retry_rounds_re_run(runflow_connection: RunflowEmulator) -> None:
    run = scenario("rf_taskflow_retry_rounds").test()  # deferred: each round resumes a fresh copy of the task
    assert states(run)[("flaky", -1)] == "success"
    entries = xcom(run, "flaky")
    assert [(e["client_ref"], e["status"], e["output"]["text"], e["attempts"]) for e in entries] == [
        ("kettle", "succeeded", "KETTLE", 1),
        ("lamp", "succeeded", "LAMP", 2),
        ("chair", "succeeded", "CHAIR", 2),
    ]
    rounds = xcom(run, "flaky", key="summary")["rounds"]
    assert [(r["round"], r["items"], r["succeeded"], r["failed"]) for r in rounds] == [(0, 3, 1, 2), (1, 2, 2, 0)]
    assert runflow_connection.counters()["batches_created"] == 2


def test_a_bad_return_value_fails_without_retry_or_request_naming_the_items(
    runflow_connection: RunflowEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    run = scenario("rf_taskflow_bad_return").test()
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == "forgot_a_field"]
    assert (ti.state, ti.try_number) == ("failed", 1)  # retries=2, yet not retried: the same input would fail
    out = capfd.readouterr().out
    assert "input[1]: must be a JSON object, got str; input[2].client_ref: must be a string, got int" in out
    assert runflow_connection.counters()["requests"] == {}


def _taskflow_dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))


def build() -> list[dict[str, Any]]:
    return [{"text": "y"}]


def test_inputs_given_to_the_decorator_are_refused_when_the_dag_is_defined() -> None:
    decorated = task.runflow_batch(model="acme/test-model", inputs=[{"text": "x"}])(build)
    with _taskflow_dag("rf_taskflow_inputs_twice"), pytest.raises(TypeError, match=r"inputs are what build\(\)"):
        decorated()


@pytest.mark.parametrize(
    ("arguments", "refused"),
    [({"chunk_size": 0}, "chunk_size"), ({"poll_interval": 0}, "poll_interval"), ({"modle": "a/b"}, "modle")],
)
def test_bad_operator_arguments_are_refused_when_the_dag_is_defined(arguments: dict[str, Any], refused: str) -> None:
    decorated = task.runflow_batch(**{"model": "acme/test-model", **arguments})(build)
    with _taskflow_dag(f"rf_taskflow_bad_{refused}"), pytest.raises((TypeError, ValueError), match=refused):
        decorated()
