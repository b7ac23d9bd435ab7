"""How a Runflow task ends when it does not succeed: one table from outcome to Airflow exception.

Every failure of the operator and the sensor passes through :func:`ending_as_airflow`, which finds
the error's :class:`Outcome` and raises the exception the table gives for the task, with a message
that says what a retry of the task will do: whether clearing it helps, or the input must change first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_runflow.batching.budget import RunflowBudgetError
from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowDeadlineError,
    RunflowItemsFailedError,
)
from airflow_provider_runflow.batching.review import RunflowReviewRejectedError
from airflow_provider_runflow.client.errors import (
    RunflowBadRequestError,
    RunflowError,
    RunflowInputError,
    RunflowNotFoundError,
    RunflowValidationError,
)
from airflow_provider_runflow.media.options import RunflowMediaError


class Outcome(StrEnum):
    """Why a Runflow task did not succeed."""

    BAD_INPUT = "bad_input"
    """Found locally, before any request: Runflow would refuse it."""
    REFUSED = "refused"
    """Runflow refused a request (400, 404 unknown model, 422)."""
    BATCH_FAILED = "batch_failed"
    """Runflow ended a batch failed, errored or cancelled."""
    ITEMS_FAILED = "items_failed"
    """More items failed than the failure policy allows."""
    BUDGET_EXCEEDED = "budget_exceeded"
    """The spend guard skipped inputs to stay within ``max_cost`` (``on_budget="fail"``)."""
    REVIEW_REJECTED = "review_rejected"
    """The reviewer rejected the run, or no answer came in time (``on_timeout="fail"``)."""
    MEDIA_FAILED = "media_failed"
    """Some items' media could not be stored (``media.on_error="fail"``)."""
    DEADLINE = "deadline"
    """The ``timeout`` passed with batches still running."""
    UNREACHABLE = "unreachable"
    """Anything that may heal: network, 5xx, 401/402/403, a vanished batch, items missing from an answer."""


@dataclass(frozen=True)
class Ending:
    """What a task ending in an outcome raises, and what a retry of the task then does."""

    operator: type[AirflowException]
    sensor: type[AirflowException]
    retry: str
    resubmitted: type[AirflowException] | None = None
    """The operator's exception when each try submits new batches (``submission_key``), if it differs."""
    sensor_retry: str | None = None
    """What a retry of the sensor does, when not the same as the operator's."""


_AGAIN = "A retry of the task waits for the same batches again (nothing is submitted or billed twice)"
_FINAL = "Not retried: a retry would wait for the same batches and end the same"
ENDINGS: dict[Outcome, Ending] = {
    Outcome.BAD_INPUT: Ending(
        AirflowFailException, AirflowFailException, "Not retried: fix the input; a retry would send it again."
    ),
    Outcome.REFUSED: Ending(
        AirflowFailException, AirflowFailException, "Not retried: Runflow would refuse the same request again."
    ),
    Outcome.BATCH_FAILED: Ending(
        AirflowFailException,
        AirflowFailException,
        f"{_FINAL}; a submission_key makes each try submit new batches.",
        resubmitted=AirflowException,
    ),
    Outcome.ITEMS_FAILED: Ending(
        AirflowFailException,
        AirflowFailException,
        f"{_FINAL}; retry_failed_items re-runs failed items, a submission_key submits new batches.",
        resubmitted=AirflowException,
    ),
    Outcome.BUDGET_EXCEEDED: Ending(
        AirflowFailException,
        AirflowFailException,
        "Not retried: a retry would skip the same inputs. With a larger max_cost, a retry re-attaches to "
        "the batches already run (nothing is paid twice) and runs the rest.",
    ),
    Outcome.REVIEW_REJECTED: Ending(
        AirflowFailException,
        AirflowFailException,
        "Not retried: the decision stands; a retry would replay it. Clear the task to review the run again.",
    ),
    Outcome.MEDIA_FAILED: Ending(
        AirflowException, AirflowException, f"{_AGAIN} and copies only the files not stored yet."
    ),
    Outcome.DEADLINE: Ending(
        AirflowException,
        AirflowSensorTimeout,
        f"{_AGAIN}, with a new deadline.",
        sensor_retry="Not retried: a sensor's timeout is final, as Airflow's own sensors' is.",
    ),
    Outcome.UNREACHABLE: Ending(AirflowException, AirflowException, f"{_AGAIN}."),
}

_OUTCOMES: tuple[tuple[type[RunflowError] | tuple[type[RunflowError], ...], Outcome], ...] = (
    (RunflowInputError, Outcome.BAD_INPUT),
    ((RunflowBadRequestError, RunflowNotFoundError, RunflowValidationError), Outcome.REFUSED),
    (RunflowBatchFailedError, Outcome.BATCH_FAILED),
    (RunflowItemsFailedError, Outcome.ITEMS_FAILED),
    (RunflowBudgetError, Outcome.BUDGET_EXCEEDED),
    (RunflowReviewRejectedError, Outcome.REVIEW_REJECTED),
    (RunflowMediaError, Outcome.MEDIA_FAILED),
    (RunflowDeadlineError, Outcome.DEADLINE),
)


def outcome_of(error: BaseException) -> Outcome:
    """The outcome of the first error in ``error``'s chain (``raise ... from``) that the table names;
    anything else may heal."""
    cause: BaseException | None = error
    while cause is not None:
        if found := next((outcome for kinds, outcome in _OUTCOMES if isinstance(cause, kinds)), None):
            return found
        cause = cause.__cause__
    return Outcome.UNREACHABLE


def airflow_exception(error: RunflowError, *, sensor: bool = False, resubmits: bool = False) -> AirflowException:
    """The exception that ends the task for ``error``; its message adds what a retry will do.

    ``resubmits``: each try creates new batches (``submission_key``), so a failed batch may come out differently.
    """
    ending = ENDINGS[outcome_of(error)]
    if sensor:
        return ending.sensor(f"{error} {ending.sensor_retry or ending.retry}")
    if resubmits and ending.resubmitted:
        return ending.resubmitted(f"{error} A retry of the task submits new batches (submission_key).")
    return ending.operator(f"{error} {ending.retry}")


@contextmanager
def ending_as_airflow(*, sensor: bool = False, resubmits: bool = False) -> Iterator[None]:
    """Turn any :class:`RunflowError` raised inside into the task's Airflow exception (see :data:`ENDINGS`)."""
    try:
        yield
    except RunflowError as error:
        raise airflow_exception(error, sensor=sensor, resubmits=resubmits) from None
