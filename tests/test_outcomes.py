"""The one table from how a Runflow task ended to the Airflow exception that ends it, and what a retry does."""

from __future__ import annotations

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowDeadlineError,
    RunflowItemsFailedError,
    RunflowWaitError,
)
from airflow_provider_runflow.batching.results import RunflowMissingItemsError
from airflow_provider_runflow.client import errors
from airflow_provider_runflow.media.options import RunflowMediaError
from airflow_provider_runflow.steps.outcomes import Outcome, airflow_exception, ending_as_airflow, outcome_of
from airflow_provider_runflow.steps.submission import RunflowSubmissionError

PATH = "/v1/models/acme/m/batches"
FAIL, RETRY = AirflowFailException, AirflowException

# (error, outcome, operator's exception, operator's exception when each try submits new batches, sensor's)
TABLE: list[tuple[errors.RunflowError, Outcome, type[Exception], type[Exception], type[Exception]]] = [
    (errors.RunflowInputError([errors.InputProblem(0, "prompt", "not JSON")]), Outcome.BAD_INPUT, FAIL, FAIL, FAIL),
    (errors.RunflowBadRequestError("POST", PATH, 400), Outcome.REFUSED, FAIL, FAIL, FAIL),
    (errors.RunflowNotFoundError("POST", PATH, 404, "NOT_FOUND"), Outcome.REFUSED, FAIL, FAIL, FAIL),
    (errors.RunflowValidationError("POST", PATH, 422, "NOT_BATCH_CAPABLE"), Outcome.REFUSED, FAIL, FAIL, FAIL),
    (RunflowBatchFailedError("batch b failed: GPU_UNAVAILABLE"), Outcome.BATCH_FAILED, FAIL, RETRY, FAIL),
    (RunflowItemsFailedError("2 of 10 items did not succeed"), Outcome.ITEMS_FAILED, FAIL, RETRY, FAIL),
    (RunflowMediaError("media of 2 items"), Outcome.MEDIA_FAILED, RETRY, RETRY, RETRY),
    (RunflowDeadlineError("still running: b"), Outcome.DEADLINE, RETRY, RETRY, AirflowSensorTimeout),
    (RunflowWaitError("polling failed 5 times in a row"), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (RunflowMissingItemsError("batch b returned 9 items"), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowAuthenticationError("POST", PATH, 401), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowInsufficientCreditError("POST", PATH, 402), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowPermissionError("POST", PATH, 403), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowRateLimitError("POST", PATH, 429), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowServerError("POST", PATH, 503), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
    (errors.RunflowTransportError("POST", PATH, httpx.ConnectError("x")), Outcome.UNREACHABLE, RETRY, RETRY, RETRY),
]


@pytest.mark.parametrize(("error", "outcome", "operator", "resubmitting", "sensor"), TABLE, ids=lambda v: str(v)[:40])
def test_each_error_ends_the_task_as_its_outcome_says(
    error: errors.RunflowError,
    outcome: Outcome,
    operator: type[Exception],
    resubmitting: type[Exception],
    sensor: type[Exception],
) -> None:
    assert outcome_of(error) is outcome
    assert type(airflow_exception(error)) is operator
    assert type(airflow_exception(error, resubmits=True)) is resubmitting
    assert type(airflow_exception(error, sensor=True)) is sensor


@pytest.mark.parametrize("error", [row[0] for row in TABLE], ids=lambda v: str(v)[:40])
def test_the_message_keeps_the_error_and_says_what_a_retry_does(error: errors.RunflowError) -> None:
    message = str(airflow_exception(error))
    assert message.startswith(str(error))
    said = message[len(str(error)) :]
    assert ("Not retried" in said) is (type(airflow_exception(error)) is FAIL)
    assert "A retry of the task" in said or "Not retried" in said


def test_a_submission_error_ends_as_the_refusal_that_caused_it() -> None:
    cause = errors.RunflowValidationError("POST", PATH, 422, "INVALID_INPUT")
    try:
        raise RunflowSubmissionError("Creating batch 2 of 3 (input[100] to input[199]) failed") from cause
    except RunflowSubmissionError as error:
        raised = airflow_exception(error)
    assert type(raised) is FAIL
    assert str(raised).startswith("Creating batch 2 of 3 (input[100] to input[199]) failed")


def test_ending_as_airflow_lets_everything_else_through() -> None:
    with pytest.raises(KeyError), ending_as_airflow():
        raise KeyError("not a Runflow error")
    with pytest.raises(AirflowSensorTimeout, match="a sensor's timeout is final"), ending_as_airflow(sensor=True):
        raise RunflowDeadlineError("The deadline passed.")
