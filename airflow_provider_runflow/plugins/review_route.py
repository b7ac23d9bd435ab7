"""``POST /runflow-outputs/review``: the tab's review form, answered as Airflow's own API would answer it.

Mounted in the outputs app, so Airflow's login and the right to read the DAG's XComs are checked
first (the app's dependency); then Airflow's right to answer the DAG's human-in-the-loop questions
(``PUT`` on ``HITL_DETAIL``, the dependency of Airflow's ``PATCH .../hitlDetails``), and, for an
assigned question, its auth manager's ``is_authorized_hitl_task``. A post carried by the session
cookie must come from the tab itself (``review_form``). The body is bounded in size and time; the
answer is checked as any answer is (``batching.review.decision``) before anything is written.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from airflow_provider_runflow.batching.review import Decision
from airflow_provider_runflow.client import RunflowInputError
from airflow_provider_runflow.plugins.rendering import render_message
from airflow_provider_runflow.plugins.request_body import bounded_body
from airflow_provider_runflow.plugins.review import ParkedJustNow, Question, answer_now, question_of
from airflow_provider_runflow.plugins.review_form import FormError, ReviewForm, same_origin, valid_token
from airflow_provider_runflow.plugins.review_view import asked, assigned_refusal, current_inputs, secret_key
from airflow_provider_runflow.plugins.task_record import RecordDep, TaskKey, TaskRecord
from airflow_provider_runflow.settings import min_deferral_seconds

FORM_TYPE = "application/x-www-form-urlencoded"
FORM_BYTES = 1024 * 1024
"""A form of the largest page (200 items, with their input fields) fits; a larger post is refused (413) unread."""
FORM_SECONDS = 30.0
"""Time for the whole form to arrive (408 after)."""
MAX_HOLD_SECONDS = 30.0
"""The longest an answer is held for the defer race's twin, whatever ``[runflow] min_deferral_seconds`` says."""

router = APIRouter()


@router.post("/review", dependencies=[Depends(requires_access_dag("PUT", DagAccessEntity.HITL_DETAIL))])
async def answer_review(request: Request, record: RecordDep, user: GetUserDep) -> Response:
    """Answer the task instance's waiting review question; then show the tab again (303).

    Refusals are short pages naming what is wrong: 400 (the form or the answer), 403 (not posted
    from the tab, not this user's token, not assigned), 404 (no question), 409 (answered already,
    the task no longer waits, or the form answers another round), 413, 415.
    """
    key, by_cookie = record.key, not request.headers.get("authorization", "").lower().startswith("bearer ")
    if by_cookie and not same_origin(request.headers, _config("api", "base_url")):
        return _refused(403, "This form was not posted from the Runflow outputs tab of this Airflow.", key)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != FORM_TYPE:
        return _refused(415, f"A review answer is a form: Content-Type {FORM_TYPE}.", key)
    try:
        form = ReviewForm.parse(await bounded_body(request, FORM_BYTES, FORM_SECONDS))
    except FormError as err:
        return _refused(400, str(err), key)
    if by_cookie and not valid_token(form.token, secret_key(), str(user.get_id()), key, form.round):
        return _refused(403, "This form's token is not yours for this review round: reload the tab.", key)
    question = await run_in_threadpool(question_of, key)
    if question is None:
        return _refused(404, "This task instance asks no review.", key)
    if conflict := _conflict(record, question, form.round):
        return _refused(409, conflict, key)
    if refusal := assigned_refusal(user, question):
        return _refused(403, refusal, key)
    try:
        answer = form.answer(current_inputs(record, question), _total(record), user.get_name())
    except (FormError, RunflowInputError) as err:
        return _refused(400, str(err), key)
    try:
        await _record(key, answer, {"id": str(user.get_id()), "name": user.get_name()})
    except LookupError as err:
        return _refused(404, str(err), key)
    except ValueError as err:  # answered meanwhile, or the task stopped waiting
        return _refused(409, str(err), key)
    return RedirectResponse(f"outputs?{urlencode(key.query())}", status_code=status.HTTP_303_SEE_OTHER)


def _round(record: TaskRecord) -> int:
    """The round the task asks: one past the decisions its summary held when it asked."""
    return len(asked(record) or []) + 1


def _total(record: TaskRecord) -> int:
    total = (record.summary or {}).get("total")
    return total if isinstance(total, int) else 0


def _conflict(record: TaskRecord, question: Question, form_round: int) -> str | None:
    """Why the question cannot take this form's answer now (409), or None."""
    if question.answer is not None:
        return f"This review round was answered already, by {question.answer.get('by')}: reload the tab."
    if not question.waiting:
        return f"The task does not wait for an answer: it is {question.state}."
    if form_round != _round(record):
        return f"This form answers review round {form_round}; the task asks round {_round(record)}: reload the tab."
    return None


async def _record(key: TaskKey, answer: Decision, user: dict[str, str]) -> str:
    """Record the answer; a task that parked moments ago is resumed once ``min_deferral_seconds`` have passed.

    Airflow's defer race has a twin here (docs/review.md): the scheduler can fail a task resumed
    within seconds of parking. The wait is bounded (:data:`MAX_HOLD_SECONDS`) and spent off the DB.
    """
    hold = min(min_deferral_seconds(), MAX_HOLD_SECONDS)
    for _ in range(3):
        try:
            return await run_in_threadpool(answer_now, key, answer, user, hold)
        except ParkedJustNow as parked:
            await asyncio.sleep(parked.seconds)
    return await run_in_threadpool(answer_now, key, answer, user, 0.0)


def _refused(code: int, message: str, key: TaskKey) -> HTMLResponse:
    """A short page saying why the answer was not recorded, with a way back to the tab."""
    page = render_message("The answer was not recorded", message, f"outputs?{urlencode(key.query())}")
    return HTMLResponse(page, status_code=code)


def _config(section: str, option: str) -> str | None:
    from airflow.providers.common.compat.sdk import conf

    value: str | None = conf.get(section, option, fallback=None)
    return value or None
