"""Review of a task's results (``review=``) through dag.test(), answered by a reviewer thread.

The reviewer answers as a person does: through the outputs tab's recording (``plugins.review``), or
through Airflow's own REST API (``PATCH .../hitlDetails`` of the real ``create_app()``). With the
default worker wait the task sees a tab answer while it waits on its worker (automation answering at
once); with none it parks in ``awaiting_input`` and the answer resumes it, as dag.test() allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airflow_support import states, xcom
from hitl_support import Answer, Responder

from airflow_provider_runflow.emulator import RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db")
NOTHING = {"rejected": [], "changes": {}, "reason": ""}


def review_dag() -> Any:
    import importlib

    return importlib.import_module("runflow_review").DAGS["rf_review"]


@pytest.fixture
def reviewer(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    started: list[Responder] = []

    def start(*answers: Answer, worker_wait: float = 60) -> Responder:
        monkeypatch.setenv("AIRFLOW__RUNFLOW__WORKER_WAIT_SECONDS", str(worker_wait))
        started.append(Responder("rf_review", list(answers), api))
        return started[-1]

    yield start
    for one in started:
        one.close()


def test_an_immediate_approval_in_the_tab_marks_every_entry_and_says_who_decided(
    runflow_connection: RunflowEmulator, reviewer: Any
) -> None:
    answered = reviewer(("tab", "Approve", {**NOTHING, "rejected": [3]}))
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 1
    entries = xcom(run, "run")
    assert [e["review"] for e in entries] == ["approved"] * 3 + ["rejected"] + ["approved"] * 6
    assert xcom(run, "ship") == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    [decision] = xcom(run, "run", key="summary")["review"]
    assert (decision["round"], decision["choice"], decision["by"], decision["rejected"]) == (1, "Approve", "Ada", [3])
    assert runflow_connection.counters()["batches_created"] == 1


def test_regenerated_items_run_again_with_their_changes_then_the_run_is_approved(
    runflow_connection: RunflowEmulator, reviewer: Any
) -> None:
    answered = reviewer(
        ("tab", "Regenerate rejected", {**NOTHING, "rejected": [2, 7], "changes": {"7": {"text": "a better poster"}}}),
        ("tab", "Approve", NOTHING),
    )
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 2
    entries = xcom(run, "run")
    assert [e["index"] for e in entries] == list(range(10))
    assert entries[7]["output"]["text"] == "A BETTER POSTER"  # the reviewer's prompt ran
    assert entries[2]["output"]["text"] == "POSTER 2"
    assert [(e["attempts"], e.get("review_round")) for e in entries if e["index"] in (2, 7)] == [(2, 1), (2, 1)]
    assert {e["attempts"] for e in entries if e["index"] not in (2, 7)} == {1}
    assert {e["review"] for e in entries} == {"approved"}
    batch_ids = xcom(run, "run", key="batch_ids")
    assert len(batch_ids) == 2
    assert entries[7]["batch_id"] == batch_ids[1]
    assert runflow_connection.counters()["batches_created"] == 2  # only the 2 rejected items ran again


def test_a_parked_task_resumed_by_airflows_rest_api_fails_naming_the_reviewer_and_reason(
    runflow_connection: RunflowEmulator, reviewer: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    reviewer(("rest", "Reject run", {**NOTHING, "reason": "wrong brand colours"}), worker_wait=0)
    run = review_dag().test()

    assert states(run)[("run", -1)] == "failed"
    log = capfd.readouterr().out
    assert "The run was rejected in review round 1: Reject run by ada" in log
    assert "wrong brand colours" in log


def test_an_answer_that_cannot_be_acted_on_is_asked_again(runflow_connection: RunflowEmulator, reviewer: Any) -> None:
    answered = reviewer(
        ("rest", "Regenerate rejected", {**NOTHING, "rejected": [42]}),
        ("rest", "Approve", NOTHING),
        worker_wait=0,
    )
    run = review_dag().test()

    assert run.state == "success"
    assert answered.asked == 2
    assert runflow_connection.counters()["batches_created"] == 1


def test_past_max_rounds_regenerating_fails_the_run(runflow_connection: RunflowEmulator, reviewer: Any) -> None:
    again = ("tab", "Regenerate rejected", {**NOTHING, "rejected": [1]})
    reviewer(again, again, worker_wait=0)
    run = review_dag().test()

    assert states(run)[("run", -1)] == "failed"
    assert runflow_connection.counters()["batches_created"] == 2  # max_rounds=1: one regeneration
