"""The review part of the outputs page: who decided what so far, and the form while a question waits.

Who may answer is Airflow's to say, never ours: a user allowed to update the DAG's human-in-the-loop
details (``DagAccessEntity.HITL_DETAIL``), and, when the question is assigned, one its auth manager's
``is_authorized_hitl_task`` admits, as Airflow's own ``PATCH .../hitlDetails`` decides.
"""

from __future__ import annotations

import datetime
from typing import Any

from pydantic import BaseModel

from airflow_provider_runflow.batching.review import with_changes
from airflow_provider_runflow.plugins.review import Question
from airflow_provider_runflow.plugins.review_form import form_token
from airflow_provider_runflow.plugins.task_record import TaskKey, TaskRecord

NOT_ALLOWED = "Your Airflow role may not answer this DAG's human-in-the-loop questions: you see the gallery only."


class DecisionView(BaseModel):
    """One answer: the task's decision once it read it, or an answer it has yet to act on."""

    round: int | None
    choice: str
    by: str | None
    at: str | None
    rejected: list[int]
    changed: list[int]
    reason: str
    read: bool


class ReviewView(BaseModel):
    """The review of a task that asks for one (``review=``): its decisions, and the form while a question waits."""

    round: int
    """The round asked last (or now): 1 + the decisions the task had read when it asked."""
    waiting: bool
    refusal: str | None
    """Why this user may not answer the waiting question; None when they may."""
    token: str | None
    """The form's token: only while the question waits, for a user who may answer."""
    decisions: list[DecisionView]
    inputs: dict[int, dict[str, Any]]
    """The page's items' inputs as they would run again (reviewers' changes applied), while the form shows."""
    inputs_known: bool


def asked(record: TaskRecord) -> list[dict[str, Any]] | None:
    """The decisions the task had read when it last asked (its summary's ``review``); None: it asks no review."""
    reviews = (record.summary or {}).get("review")
    return [d for d in reviews if isinstance(d, dict)] if isinstance(reviews, list) else None


def decided(record: TaskRecord, question: Question | None) -> list[dict[str, Any]]:
    """Every decision the task has read: the task state store's list, unless the summary has more (a cleared store)."""
    read, summary = (question.read if question is not None else []), asked(record) or []
    return read if len(read) >= len(summary) else summary


def current_inputs(record: TaskRecord, question: Question | None) -> list[dict[str, Any]] | None:
    """The inputs as the next round would run them (the reviewers' changes applied); None when unknown."""
    if question is None or question.inputs is None:
        return None
    return with_changes(question.inputs, decided(record, question))


def review_view(record: TaskRecord, question: Question | None, user: Any, indexes: list[int]) -> ReviewView | None:
    """The review of ``record``'s task as ``user`` sees it, with the inputs of the page's items ``indexes``."""
    if (before := asked(record)) is None:
        return None  # a task without review=: its summary has no "review"
    decisions = [_decision(d, read=True) for d in decided(record, question)]
    review_round = len(before) + 1
    answer = question.answer if question is not None else None
    if answer is not None and not any(_same_time(answer.get("at"), d.at) for d in decisions):
        decisions.append(_decision({**answer, "round": review_round}, read=False))
    waiting = question is not None and question.waiting
    refusal = _refusal(user, record.key, question) if question is not None and waiting else None
    token = _token(user, record.key, review_round) if waiting and refusal is None else None
    inputs = current_inputs(record, question)
    return ReviewView(
        round=review_round,
        waiting=waiting,
        refusal=refusal,
        token=token,
        decisions=decisions,
        inputs={i: inputs[i] for i in indexes if inputs is not None and i < len(inputs)} if token else {},
        inputs_known=inputs is not None,
    )


def assigned_refusal(user: Any, question: Question) -> str | None:
    """Why ``user`` may not answer ``question`` that is assigned to others, as Airflow's PATCH decides; or None."""
    from airflow.api_fastapi.app import get_auth_manager

    if not question.assigned or get_auth_manager().is_authorized_hitl_task(
        assigned_users=set(question.assigned), user=user
    ):
        return None
    return f"This review is assigned to {', '.join(question.assigned)}: you may look, not answer."


def _refusal(user: Any, key: TaskKey, question: Question) -> str | None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    details = DagDetails(id=key.dag_id, team_name=DagModel.get_team_name(key.dag_id))
    if not get_auth_manager().is_authorized_dag(
        method="PUT", access_entity=DagAccessEntity.HITL_DETAIL, details=details, user=user
    ):
        return NOT_ALLOWED
    return assigned_refusal(user, question)


def secret_key() -> str:
    """Airflow's ``[api] secret_key``: what the form's tokens are signed with, shared by every api-server."""
    from airflow.providers.common.compat.sdk import conf

    return str(conf.get("api", "secret_key"))


def _token(user: Any, key: TaskKey, review_round: int) -> str:
    return form_token(secret_key(), str(user.get_id()), key, review_round)


def _decision(data: dict[str, Any], read: bool) -> DecisionView:
    rejected, changes, round_ = data.get("rejected"), data.get("changes"), data.get("round")
    rejected = [i for i in rejected if type(i) is int] if isinstance(rejected, list) else []
    changes = changes if isinstance(changes, dict) else {}
    return DecisionView(
        round=round_ if type(round_) is int else None,
        choice=str(data.get("choice") or ""),
        by=None if data.get("by") is None else str(data["by"]),
        at=None if data.get("at") is None else str(data["at"]),
        rejected=rejected,
        changed=sorted(int(k) for k in changes if isinstance(k, str) and k.isdigit() and len(k) < 11),
        reason=str(data.get("reason") or ""),
        read=read,
    )


def _same_time(a: Any, b: Any) -> bool:
    try:
        return datetime.datetime.fromisoformat(str(a)) == datetime.datetime.fromisoformat(str(b))
    except ValueError:
        return False
