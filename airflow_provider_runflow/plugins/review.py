"""A task instance's review question, read and answered from the api-server.

An answer given here is written twice, in one transaction: in the task's state store (which a task
waiting on its worker reads, and a retry of the task finds, even one that lost the answer to
Airflow's defer race), and in Airflow's human-in-the-loop record, exactly as Airflow's REST API
writes it, resuming the task if it is parked in ``awaiting_input``.

Airflow's defer race has a twin here: a task resumed within seconds of parking can be failed by
the scheduler, which handles the exit of the worker that parked it only after the resume
(docs/review.md). So an answer to a task parked less than ``hold`` seconds ago is not recorded yet:
:class:`ParkedJustNow` says how long to wait, and the caller answers then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from airflow.sdk.timezone import utcnow
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_runflow.batching.review import Decision
from airflow_provider_runflow.plugins import bounded_json
from airflow_provider_runflow.plugins.task_record import TaskKey
from airflow_provider_runflow.steps.review import ANSWER_KEY, STATE_KEY

WAITING = ("running", "awaiting_input")
"""The states of a task waiting for an answer: on its worker (``[runflow] worker_wait_seconds``), then parked."""


class ParkedJustNow(Exception):
    """The task parked too recently to be resumed safely: answer again in ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The task parked less than a moment ago: answering in {seconds:.1f} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Question:
    """What Airflow holds of a task instance's review: its question, any answer, and the task's side."""

    state: str | None
    answer: dict[str, Any] | None
    """The recorded answer, while Airflow holds one: ``choice``, ``by``, ``at``, and the params."""
    assigned: tuple[str, ...] = ()
    """The ids of the users the question is assigned to; none: whoever Airflow's permissions allow."""
    read: list[dict[str, Any]] = field(default_factory=list)
    """The decisions the task has read so far (``steps.review.STATE_KEY``), in order."""
    inputs: list[dict[str, Any]] | None = None
    """The rendered ``inputs``; None when Airflow kept them cut short (``[core] max_templated_field_length``)."""

    @property
    def waiting(self) -> bool:
        """Whether the question waits for an answer: asked, unanswered, and the task waiting for it."""
        return self.answer is None and self.state in WAITING


def read_question(session: Session, key: TaskKey) -> Question | None:
    """The task instance's review question, or None when it asks none (or does not exist)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered
    from airflow.models.taskinstance import TaskInstance

    ti = session.execute(select(TaskInstance.id, TaskInstance.state).where(*_where(TaskInstance, key))).first()
    detail = None if ti is None else session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).first()
    if ti is None or detail is None:
        return None
    rendered = session.scalar(select(Rendered.rendered_fields).where(*_where(Rendered, key)))
    return Question(
        state=None if ti.state is None else str(ti.state),
        answer=_answer(detail) if detail.response_received else None,
        assigned=tuple(str(user.get("id")) for user in detail.assignees or () if isinstance(user, dict)),
        read=_decisions(_stored(session, key, STATE_KEY)),
        inputs=_inputs(rendered),
    )


def record_answer(session: Session, key: TaskKey, answer: Decision, user: dict[str, str], hold: float = 0.0) -> str:
    """Record ``answer`` to the task instance's open question, at this moment; the task's state once answered.

    Raises ``LookupError`` when the task instance asks nothing, ``ValueError`` when its question is
    answered already or the task no longer waits for it (the caller answers 404 and 409), and
    :class:`ParkedJustNow` when the task parked less than ``hold`` seconds ago.
    """
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.state import get_state_backend
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.state import TaskInstanceState

    where = _where(TaskInstance, key)
    ti = session.scalars(select(TaskInstance).where(*where).with_for_update(of=TaskInstance)).first()
    detail = (
        None
        if ti is None
        else session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id).with_for_update(of=HITLDetail)).first()
    )
    if ti is None or detail is None:
        raise LookupError("This task instance asks no review")
    if detail.response_received:
        by = (detail.responded_by or {}).get("name")
        raise ValueError(f"This review round was answered already, by {by} at {detail.responded_at:%Y-%m-%d %H:%M:%S}")
    if ti.state not in WAITING:
        raise ValueError(f"The task does not wait for an answer: it is {ti.state}")
    parked = ti.state == TaskInstanceState.AWAITING_INPUT
    if parked and hold > 0 and ti.updated_at is not None and (ago := (utcnow() - ti.updated_at).total_seconds()) < hold:
        raise ParkedJustNow(hold - ago)
    now = utcnow()  # the answer's time in both records: the page tells a read answer from a new one by it
    answer = replace(answer, at=now.isoformat())
    get_state_backend().set(key.scope(), ANSWER_KEY, json.dumps(answer.to_json()), session=session)
    detail.chosen_options, detail.params_input = [answer.choice], _params(answer)
    detail.responded_by, detail.responded_at = dict(user), now
    session.add(detail)
    if parked:
        event = TriggerEvent(detail.as_resume_event_payload())  # type: ignore[no-untyped-call]
        handle_event_submit(event, task_instance=ti, session=session)
    return str(ti.state)


def question_of(key: TaskKey) -> Question | None:
    """:func:`read_question` in a session of its own."""
    from airflow.utils.session import create_session

    with create_session(scoped=False) as session:
        return read_question(session, key)


def answer_now(key: TaskKey, answer: Decision, user: dict[str, str], hold: float) -> str:
    """:func:`record_answer` in a transaction of its own."""
    from airflow.utils.session import create_session

    with create_session(scoped=False) as session:
        return record_answer(session, key, answer, user, hold)


def _where(model: Any, key: TaskKey) -> tuple[Any, ...]:
    return (
        model.dag_id == key.dag_id,
        model.run_id == key.run_id,
        model.task_id == key.task_id,
        model.map_index == key.map_index,
    )


def _params(answer: Decision) -> dict[str, Any]:
    return {"rejected": answer.rejected, "changes": answer.changes, "reason": answer.reason}


def _answer(detail: Any) -> dict[str, Any]:
    params = detail.params_input if isinstance(detail.params_input, dict) else {}
    chosen = detail.chosen_options or []
    return {
        "choice": str(chosen[0]) if chosen else "",
        "by": (detail.responded_by or {}).get("name"),
        "at": None if detail.responded_at is None else detail.responded_at.isoformat(),
        **{name: params.get(name) for name in ("rejected", "changes", "reason")},
    }


def _stored(session: Session, key: TaskKey, name: str) -> Any:
    """A value of the task's state store, decoded; None when absent or not readable JSON."""
    from airflow.state import get_state_backend

    text = get_state_backend().get(key.scope(), name, session=session)
    try:
        return None if text is None else bounded_json.loads(text)
    except ValueError:
        return None


def _decisions(value: Any) -> list[dict[str, Any]]:
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def _inputs(rendered: Any) -> list[dict[str, Any]] | None:
    inputs = rendered.get("inputs") if isinstance(rendered, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs) or bounded_json.deeper_than(inputs):
        return None
    return inputs
