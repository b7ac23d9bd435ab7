"""The one mapping from a Runflow outcome to the Airflow exception that ends the task, as a table."""

from __future__ import annotations

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_runflow.airflow_exceptions import Verdict, airflow_exception, verdict
from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowDeadlineError,
    RunflowItemsFailedError,
    RunflowWaitError,
)
from airflow_provider_runflow.batching.results import RunflowMissingItemsError
from airflow_provider_runflow.client import errors

PATH = "/v1/models/acme/m/batches"

# (outcome, verdict when a retry re-attaches, verdict when each try submits new batches)
TABLE: list[tuple[errors.RunflowError, Verdict, Verdict]] = [
    (errors.RunflowInputError([errors.InputProblem(0, "prompt", "not JSON")]), Verdict.FAIL, Verdict.FAIL),
    (errors.RunflowBadRequestError("POST", PATH, 400), Verdict.FAIL, Verdict.FAIL),
    (errors.RunflowNotFoundError("POST", PATH, 404, "NOT_FOUND"), Verdict.FAIL, Verdict.FAIL),
    (errors.RunflowValidationError("POST", PATH, 422, "MODEL_NOT_BATCH_CAPABLE"), Verdict.FAIL, Verdict.FAIL),
    (RunflowBatchFailedError("batch b failed: GPU_UNAVAILABLE"), Verdict.FAIL, Verdict.RETRY),
    (RunflowItemsFailedError("2 of 10 items did not succeed"), Verdict.FAIL, Verdict.RETRY),
    (RunflowDeadlineError("still running: b"), Verdict.TIMEOUT, Verdict.TIMEOUT),
    (RunflowWaitError("polling failed 5 times in a row"), Verdict.RETRY, Verdict.RETRY),
    (RunflowMissingItemsError("batch b returned 9 items, expected 10"), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowAuthenticationError("POST", PATH, 401), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowInsufficientCreditError("POST", PATH, 402), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowPermissionError("POST", PATH, 403), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowRateLimitError("POST", PATH, 429), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowServerError("POST", PATH, 503), Verdict.RETRY, Verdict.RETRY),
    (errors.RunflowTransportError("POST", PATH, httpx.ConnectError("refused")), Verdict.RETRY, Verdict.RETRY),
]
EXCEPTIONS = {Verdict.FAIL: AirflowFailException, Verdict.RETRY: AirflowException}


@pytest.mark.parametrize(("error", "reattaching", "resubmitting"), TABLE, ids=lambda v: type(v).__name__)
def test_each_outcome_has_one_verdict(error: errors.RunflowError, reattaching: Verdict, resubmitting: Verdict) -> None:
    assert verdict(error) is reattaching
    assert verdict(error, resubmits=True) is resubmitting


@pytest.mark.parametrize(("error", "decided", "_"), TABLE, ids=lambda v: type(v).__name__)
def test_the_operator_raises_the_exception_of_the_verdict(
    error: errors.RunflowError, decided: Verdict, _: Verdict
) -> None:
    raised = airflow_exception(error)
    expected = AirflowException if decided is Verdict.TIMEOUT else EXCEPTIONS[decided]
    assert type(raised) is expected
    assert str(raised) == str(error)


@pytest.mark.parametrize(("error", "decided", "_"), TABLE, ids=lambda v: type(v).__name__)
def test_a_sensor_times_out_as_airflows_own_sensors(error: errors.RunflowError, decided: Verdict, _: Verdict) -> None:
    raised = airflow_exception(error, sensor=True)
    expected = AirflowSensorTimeout if decided is Verdict.TIMEOUT else EXCEPTIONS[decided]
    assert type(raised) is expected


def test_a_message_replaces_the_errors_text_but_not_its_verdict() -> None:
    raised = airflow_exception(errors.RunflowNotFoundError("POST", PATH, 404), message="Creating batch 1 of 2 failed")
    assert type(raised) is AirflowFailException
    assert str(raised) == "Creating batch 1 of 2 failed"
