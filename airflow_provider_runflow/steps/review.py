"""Asking a person, through Airflow's human-in-the-loop (Airflow 3.3+): to review results (docs/review.md), or to
raise a budget the spend guard reached (``on_budget="ask"``, docs/cost.md).

The question is Airflow's own (its required-actions page and REST API answer it, its permissions
decide who may); the "Runflow outputs" tab shows the gallery beside it. The task first waits for an
answer on the worker for ``[runflow] worker_wait_seconds``, so automation that answers at once is
served there; then it parks in ``awaiting_input``, holding neither a worker slot nor the triggerer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import BaseNotifier

from airflow_provider_runflow.batching.budget import parse_max_cost
from airflow_provider_runflow.batching.review import APPROVE, OPTIONS, REJECT, Decision, decision
from airflow_provider_runflow.client.errors import InputProblem, RunflowInputError
from airflow_provider_runflow.settings import worker_wait_seconds
from airflow_provider_runflow.steps.task_state import keep, kept

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

STATE_KEY = "runflow_review"
"""The task state store key of the decisions read so far: a retry of the task replays them, never asks again."""
ANSWER_KEY = "runflow_review_answer"
"""The task state store key of an answer given in the outputs tab, before it is Airflow's (``plugins.review``)."""
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class RunflowReview:
    """How a task's results are reviewed by a person before they flow downstream (docs/review.md).

    :param assigned_users: who may answer, ``{"id": ..., "name": ...}`` or a list of them; empty:
        whoever Airflow's human-in-the-loop permissions allow.
    :param response_timeout: how long to wait for an answer; ``None``: as long as it takes.
    :param max_rounds: how many times the rejected items may be regenerated.
    :param notifiers: Airflow notifiers, called each time the task asks.
    :param on_timeout: what ``response_timeout`` decides: ``"fail"`` (nothing unseen ships) or ``"approve"``.
    """

    assigned_users: Sequence[dict[str, str]] = ()
    response_timeout: timedelta | None = None
    max_rounds: int = 3
    notifiers: Sequence[BaseNotifier] = field(default_factory=tuple)
    on_timeout: Literal["fail", "approve"] = "fail"

    def __post_init__(self) -> None:
        if isinstance(self.assigned_users, dict):
            object.__setattr__(self, "assigned_users", (self.assigned_users,))
        if self.max_rounds < 0:
            raise ValueError(f"max_rounds must be 0 or more, got {self.max_rounds!r}")
        if self.on_timeout not in ("fail", "approve"):
            raise ValueError(f"on_timeout must be 'fail' or 'approve', got {self.on_timeout!r}")


def review_params() -> dict[str, Any]:
    """The answer's params, serialised as Airflow's HITL expects: ``rejected``, ``changes``, ``reason``."""
    from airflow.sdk import Param

    params = {
        "rejected": Param([], type="array", items={"type": "integer"}, description="input indexes turned down"),
        "changes": Param(
            {}, type="object", description='input fields to replace, by input index: {"3": {"prompt": "..."}}'
        ),
        "reason": Param("", type="string", description="why; required to reject the run"),
    }
    return {name: param.serialize() for name, param in params.items()}


def ask(context: Context, review: RunflowReview, review_round: int, summary: dict[str, Any]) -> Decision | None:
    """Put the question to Airflow; the answer if one comes while the task waits on the worker, else None.

    Answers given in the outputs tab (or through its API) are recorded in the task state store too,
    where the task sees them: a task cannot read Airflow's own answer until Airflow resumes it.
    """
    store = context.get("task_state_store")
    if (answer := recorded_answer(store, review_round)) is not None:
        return answer  # given in the outputs tab to an earlier try, which never read it
    put_question(context, review, review_round, summary)
    until = time.time() + worker_wait_seconds()
    while (answer := recorded_answer(store, review_round)) is None and time.time() < until:
        time.sleep(POLL_SECONDS)
    return answer


def recorded_answer(store: Any, review_round: int) -> Decision | None:
    """The answer to ``review_round`` recorded by the outputs tab (``plugins.review``), if any."""
    value = kept(store, ANSWER_KEY)
    if isinstance(value, dict) and value.get("round") == review_round:
        return Decision.from_json(value)
    return None


def put_question(context: Context, review: RunflowReview, review_round: int, summary: dict[str, Any]) -> None:
    """Write (or reset) the question in Airflow, and call the notifiers."""
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    ti = context["ti"]
    last = "" if review_round <= review.max_rounds else " This is the last round: regenerating is not possible."
    upsert_hitl_detail(
        ti_id=ti.id,
        options=OPTIONS,
        subject=f"Review the Runflow outputs of {ti.task_id}",
        body=(
            f"{summary.get('succeeded', 0)} of {summary.get('total', 0)} items succeeded (cost {summary.get('cost')}). "
            'See them in the task\'s "Runflow outputs" tab, then approve, regenerate the rejected items '
            f"(params rejected and changes), or reject the run (param reason).{last}"
        ),
        defaults=[APPROVE] if review.on_timeout == "approve" else None,
        multiple=False,
        params=review_params(),
        assigned_users=[{"id": user["id"], "name": user["name"]} for user in review.assigned_users],
    )
    for notifier in review.notifiers:
        notifier(context)


def decision_of_event(event: dict[str, Any], review_round: int, inputs: int) -> Decision:
    """The decision Airflow resumed the task with: an answer, the timeout's default, or no answer in time."""
    if event.get("error_type") == "timeout":
        return Decision(review_round, REJECT, reason=str(event.get("error") or "no answer in time"), timed_out=True)
    by = event.get("responded_by_user") or {}
    at = event.get("responded_at")
    answer = decision(
        review_round,
        list(event.get("chosen_options") or []),
        event.get("params_input") or {},
        by.get("name") if isinstance(by, dict) else getattr(by, "name", None),
        at if at is None or isinstance(at, str) else at.isoformat(),
        inputs,
    )
    return Decision(**{**answer.to_json(), "timed_out": bool(event.get("timedout"))})


def recorded_decisions(store: Any) -> list[Decision]:
    """The decisions an earlier try of the task read."""
    value = kept(store, STATE_KEY)
    return [Decision.from_json(item) for item in value] if isinstance(value, list) else []


def record_decisions(store: Any, decisions: list[Decision], log: Any) -> None:
    """Keep the decisions across task tries, so a retry replays them instead of asking again."""
    keep(store, STATE_KEY, [d.to_json() for d in decisions], "review decisions", log)


BUDGET_OPTIONS = ["Raise max_cost", "Stop here"]
BUDGET_KEY = "runflow_budget"
"""The task state store key of a budget a person raised: a retry of the task goes on with it."""


def put_budget_question(context: Context, message: str) -> None:
    """Ask whether to raise ``max_cost`` (param ``max_cost``, a decimal string) or stop here (``on_budget="ask"``)."""
    from airflow.sdk import Param
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    ti = context["ti"]
    param = Param("", type="string", description="the new budget, a decimal string above the current one")
    upsert_hitl_detail(
        ti_id=ti.id,
        options=BUDGET_OPTIONS,
        subject=f"Runflow budget reached for {ti.task_id}",
        body=f"{message} Raise max_cost to send more, or stop here: the inputs not sent are skipped.",
        defaults=None,
        multiple=False,
        params={"max_cost": param.serialize()},
        assigned_users=[],
    )


def budget_answer(event: dict[str, Any], current: Decimal) -> Decimal | None:
    """The budget a person raised it to, or None when they stopped (or no answer came in time).

    Raises :class:`RunflowInputError` for a raise that is no amount above ``current``: they are asked again.
    """
    if event.get("error_type") == "timeout" or (event.get("chosen_options") or [None])[0] != BUDGET_OPTIONS[0]:
        return None
    value = (event.get("params_input") or {}).get("max_cost")
    try:
        raised = parse_max_cost(str(value).strip())
    except ValueError as err:
        raise RunflowInputError([InputProblem(None, "max_cost", str(err))]) from None
    if raised is None or raised <= current:
        raise RunflowInputError([InputProblem(None, "max_cost", f"must be above the current {current}, got {value!r}")])
    return raised


def raised_budget(store: Any) -> str | None:
    """A budget a person raised for an earlier try of the task, from the task state store."""
    value = kept(store, BUDGET_KEY)
    return value if isinstance(value, str) else None


def record_raised_budget(store: Any, raised: Decimal, log: Any) -> None:
    """Keep a raised budget across task tries."""
    keep(store, BUDGET_KEY, str(raised), "raised budget", log)
