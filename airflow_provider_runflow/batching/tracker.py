"""The I/O-free heart of waiting: turns poll results and the time into "keep waiting" or a final event.

The trigger (async) and the operator's blocking mode (sync) only fetch and
sleep around a :class:`BatchTracker`, so the two modes cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

from airflow_provider_runflow.client.calls import get_batch
from airflow_provider_runflow.client.errors import RunflowAPIError, RunflowError
from airflow_provider_runflow.client.models import Batch
from airflow_provider_runflow.client.retry import is_retryable
from airflow_provider_runflow.client.status import is_terminal

EventStatus = Literal["success", "timeout", "error"]


class BatchEvent(TypedDict):
    """The one event a wait ends with; JSON-only so it survives the triggerer."""

    status: EventStatus
    message: str
    batches: list[dict[str, Any]]


@dataclass
class BatchState:
    """What the last poll said of one batch."""

    batch_id: str
    status: str | None = None
    items_total: int | None = None
    items_succeeded: int | None = None
    items_failed: int | None = None
    items_cancelled: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    cost: str | None = None
    links: dict[str, Any] | None = None
    errors_in_a_row: int = 0
    last_error: str | None = None

    @property
    def terminal(self) -> bool:
        return is_terminal(self.status)

    def describe(self) -> str:
        done = (self.items_succeeded or 0) + (self.items_failed or 0) + (self.items_cancelled or 0)
        total = "?" if self.items_total is None else self.items_total
        return f"{self.batch_id} ({self.status or 'unknown'}, {done}/{total} items done)"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class BatchTracker:
    """Tracks a set of batches until all are terminal, the deadline passes, or polling fails for good.

    :param deadline: wall-clock (epoch seconds) time after which the wait ends with a timeout.
    :param max_poll_failures: transient poll failures in a row (after the client's own retries)
        that end the wait with an error; 401/403/404 and other non-retryable errors end it at once.
    """

    def __init__(self, batch_ids: Sequence[str], deadline: float, max_poll_failures: int = 5) -> None:
        if not batch_ids:
            raise ValueError("batch_ids must not be empty")
        self.states = {batch_id: BatchState(batch_id) for batch_id in batch_ids}
        self.deadline = deadline
        self.max_poll_failures = max_poll_failures
        self._fatal: str | None = None
        self._last_progress: tuple[Any, ...] | None = None
        self._last_logged = float("-inf")

    def pending(self) -> list[str]:
        """Batches still worth polling."""
        return [batch_id for batch_id, state in self.states.items() if not state.terminal]

    def observe(self, batch_id: str, result: Batch | BaseException) -> None:
        """Record one poll of ``batch_id``: the batch it returned, or the error it raised."""
        state = self.states[batch_id]
        if isinstance(result, BaseException):
            state.errors_in_a_row += 1
            state.last_error = str(result) if isinstance(result, RunflowError) else type(result).__name__
            if isinstance(result, RunflowAPIError) and not is_retryable(result, get_batch(batch_id)):
                self._fatal = f"Polling batch {batch_id} failed and will not succeed on retry: {result}"
            return
        state.errors_in_a_row, state.last_error = 0, None
        for name in ("status_code", "items_total", "items_succeeded", "items_failed", "items_cancelled"):
            value = getattr(result, name)
            if value is not None:
                setattr(state, "status" if name == "status_code" else name, value)
        state.failure_code, state.failure_message = result.failure_code, result.failure_message
        state.cost = None if result.cost is None else str(result.cost)
        state.links = result.links or state.links

    def outcome(self, now: float) -> BatchEvent | None:
        """The final event if the wait is over at ``now``, else None."""
        if self._fatal:
            return self._event("error", self._fatal)
        pending = self.pending()
        if not pending:
            return self._event("success", f"All {len(self.states)} Runflow batches finished.")
        failing = [self.states[b] for b in pending if self.states[b].errors_in_a_row >= self.max_poll_failures]
        if failing:
            worst = failing[0]
            return self._event(
                "error",
                f"Polling batch {worst.batch_id} failed {worst.errors_in_a_row} times in a row "
                f"(last: {worst.last_error}).{self.still_running()}",
            )
        if now >= self.deadline:
            return self._event("timeout", f"The deadline passed before all batches finished.{self.still_running()}")
        return None

    def still_running(self) -> str:
        """A sentence naming the batches left running on Runflow, which has no public cancel."""
        pending = [self.states[b].describe() for b in self.pending()]
        if not pending:
            return ""
        return f" Still running on Runflow (no public cancel; they will finish and be billed): {', '.join(pending)}."

    def progress(self, now: float, min_interval: float = 10.0) -> str | None:
        """A progress line when counts changed and ``min_interval`` passed since the last, else None."""
        key = tuple(
            (s.status, s.items_succeeded, s.items_failed, s.items_cancelled, s.errors_in_a_row)
            for s in self.states.values()
        )
        if key == self._last_progress or (now - self._last_logged < min_interval and self.pending()):
            return None
        self._last_progress, self._last_logged = key, now
        states = self.states.values()
        total = sum(s.items_total or 0 for s in states)
        succeeded = sum(s.items_succeeded or 0 for s in states)
        failed = sum((s.items_failed or 0) + (s.items_cancelled or 0) for s in states)
        return (
            f"Runflow: {sum(s.terminal for s in states)}/{len(self.states)} batches finished, "
            f"{succeeded + failed}/{total} items done ({succeeded} succeeded, {failed} failed or cancelled)"
        )

    def _event(self, status: EventStatus, message: str) -> BatchEvent:
        return {"status": status, "message": message, "batches": [asdict(s) for s in self.states.values()]}
