"""Answering a task's review from the api-server: where a retry finds it, then as Airflow's own answer.

An answer given here is written twice, in one transaction: in the task's state store (which a task
waiting on its worker reads, and a retry of the task finds, even one that lost the answer to
Airflow's defer race), and in Airflow's human-in-the-loop record, exactly as Airflow's REST API
writes it, resuming the task if it is parked in ``awaiting_input``.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk.timezone import utcnow
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_runflow.batching.review import Decision
from airflow_provider_runflow.steps.review import ANSWER_KEY


def record_answer(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int, answer: Decision, user: dict[str, str]
) -> str:
    """Record ``answer`` to the task instance's open question; the task's state once answered.

    Raises ``LookupError`` when the task instance asks nothing, ``ValueError`` when its question is
    answered already (the caller answers 404 and 409).
    """
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.state import TaskScope, get_state_backend
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.state import TaskInstanceState

    where = (
        TaskInstance.dag_id == dag_id,
        TaskInstance.run_id == run_id,
        TaskInstance.task_id == task_id,
        TaskInstance.map_index == map_index,
    )
    ti = session.scalars(select(TaskInstance).where(*where).with_for_update(of=TaskInstance)).first()
    detail = (
        None
        if ti is None
        else session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id).with_for_update(of=HITLDetail)).first()
    )
    if ti is None or detail is None:
        raise LookupError("This task instance asks no review")
    if detail.response_received:
        raise ValueError("This review round is answered already")
    scope = TaskScope(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
    get_state_backend().set(scope, ANSWER_KEY, json.dumps(answer.to_json()), session=session)
    detail.chosen_options, detail.params_input = [answer.choice], _params(answer)
    detail.responded_by, detail.responded_at = dict(user), utcnow()
    session.add(detail)
    if ti.state in (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED):
        event = TriggerEvent(detail.as_resume_event_payload())  # type: ignore[no-untyped-call]
        handle_event_submit(event, task_instance=ti, session=session)
    return str(ti.state)


def _params(answer: Decision) -> dict[str, Any]:
    return {"rejected": answer.rejected, "changes": answer.changes, "reason": answer.reason}
