"""The one mapping from how a Runflow request or wait ended to the Airflow exception that ends the task.

- Bad input found locally, or a request Runflow refused (400, 404 unknown model, 422):
  ``AirflowFailException``, as a retry would send the same request.
- A batch failed, errored or was cancelled, or more items failed than the policy allows:
  ``AirflowFailException``, as a retry re-attaches to the same batches; ``AirflowException``
  (retried) when each try submits new batches (``submission_key``).
- The deadline passed (a timeout): ``AirflowException`` for the operator, retried, as a retry
  re-attaches and waits again (not ``AirflowTaskTimeout``, which Airflow keeps for interrupting
  a task); ``AirflowSensorTimeout`` for the sensor, not retried, as Airflow's own sensors.
- Anything else (network, 5xx, 401/402/403, a vanished batch, items missing from an answer):
  ``AirflowException``, retried, as it may heal.
"""

from __future__ import annotations

from enum import StrEnum

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
)

from airflow_provider_runflow.batching.outcome import (
    RunflowBatchFailedError,
    RunflowDeadlineError,
    RunflowItemsFailedError,
)
from airflow_provider_runflow.client.errors import (
    RunflowBadRequestError,
    RunflowError,
    RunflowInputError,
    RunflowNotFoundError,
    RunflowValidationError,
)


class Verdict(StrEnum):
    """What a task that ended in some outcome should do: fail for good, retry, or count as timed out."""

    FAIL = "fail"
    RETRY = "retry"
    TIMEOUT = "timeout"


_REFUSED = (RunflowInputError, RunflowBadRequestError, RunflowNotFoundError, RunflowValidationError)
_RUNFLOW_FAILED = (RunflowBatchFailedError, RunflowItemsFailedError)


def verdict(error: RunflowError, *, resubmits: bool = False) -> Verdict:
    """The verdict for ``error``; ``resubmits`` says a retry would create new batches (``submission_key``)."""
    if isinstance(error, RunflowDeadlineError):
        return Verdict.TIMEOUT
    if isinstance(error, _REFUSED):
        return Verdict.FAIL
    if isinstance(error, _RUNFLOW_FAILED):
        return Verdict.RETRY if resubmits else Verdict.FAIL
    return Verdict.RETRY


def airflow_exception(
    error: RunflowError, *, resubmits: bool = False, sensor: bool = False, message: str | None = None
) -> AirflowException:
    """The Airflow exception to raise for ``error``, with ``message`` (default: the error's own) as its text."""
    text = message or str(error)
    decided = verdict(error, resubmits=resubmits)
    if decided is Verdict.TIMEOUT and sensor:
        return AirflowSensorTimeout(text)
    return AirflowFailException(text) if decided is Verdict.FAIL else AirflowException(text)
