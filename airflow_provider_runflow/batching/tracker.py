"""The I/O-free heart of waiting: turns poll results and the time into "keep waiting" or a final event.

The trigger (async), the operator's blocking mode and the sensor's pokes (sync) only
send the tracker's polls and sleep around a :class:`BatchTracker`, so the modes cannot
drift apart. Whether a poll error may heal is the client's retry classifier's call alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict

from airflow_provider_runflow.batching.pacing import PollInterval, Sample, adaptive_wait
from airflow_provider_runflow.client.calls import Exchange, poll_batch
from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.client.models import BatchStatus
from airflow_provider_runflow.client.retry import is_transient
from airflow_provider_runflow.client.status import is_terminal

EventStatus = Literal["success", "timeout", "error"]


class BatchEvent(TypedDict):
    """The one event a wait ends with; JSON-only so it survives the triggerer.

    It carries all the task needs to go on (each batch's ``expected_items``, and ``carry``, the
    task's own state handed back unchanged): ``dag.test()`` resumes a deferred task with the
    event alone, without ``defer(kwargs=...)``.
    """

    status: EventStatus
    message: str
    batches: list[dict[str, Any]]
    carry: Any


@dataclass
class BatchState:
    """What the last poll said of one batch."""

    batch_id: str
    expected_items: int | None = None
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

    @property
    def done(self) -> int:
        """Items that reached an end (succeeded, failed or cancelled)."""
        return (self.items_succeeded or 0) + (self.items_failed or 0) + (self.items_cancelled or 0)

    @property
    def settled(self) -> bool:
        """Every item ended, so the items alone tell what happened to the batch."""
        return self.items_total is not None and self.done == self.items_total

    def describe(self) -> str:
        done = self.done
        total = "?" if self.items_total is None else self.items_total
        return f"{self.batch_id} ({self.status or 'unknown'}, {done}/{total} items done)"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class BatchTracker:
    """Tracks a set of batches until all are terminal, the deadline passes, or polling fails for good.

    :param deadline: wall-clock (epoch seconds) time after which the wait ends with a timeout.
    :param max_poll_failures: transient poll failures in a row (after the client's own retries)
        that end the wait with an error; whatever the retry classifier calls permanent ends it at once.
    :param expected_items: how many items each batch was created with, when known (in event and states).
    :param carry: a JSON value the waiting task gets back in the event, unchanged.
    """

    def __init__(
        self,
        batch_ids: Sequence[str],
        deadline: float,
        max_poll_failures: int = 5,
        *,
        expected_items: Sequence[int] | None = None,
        carry: Any = None,
    ) -> None:
        if not batch_ids:
            raise ValueError("batch_ids must not be empty")
        if expected_items is not None and len(expected_items) != len(batch_ids):
            raise ValueError("expected_items must give one count per batch")
        counts = list(expected_items) if expected_items is not None else [None] * len(batch_ids)
        self.states = {batch_id: BatchState(batch_id, n) for batch_id, n in zip(batch_ids, counts, strict=True)}
        self.carry = carry
        self.deadline = deadline
        self.max_poll_failures = max_poll_failures
        self._fatal: str | None = None
        self._last_progress: tuple[Any, ...] | None = None
        self._last_logged = float("-inf")
        self._created: dict[str, float] = {}
        self._samples: dict[str, tuple[Sample, Sample]] = {}
        """Per batch: the last look that saw no item done, and the previous look."""

    def pending(self) -> list[str]:
        """Batches still worth polling."""
        return [batch_id for batch_id, state in self.states.items() if not state.terminal]

    def poll(self, batch_id: str) -> Exchange[None]:
        """Poll ``batch_id`` once and record what came back (send it with either client)."""
        try:
            self.observe(batch_id, (yield poll_batch(batch_id)))
        except RunflowError as err:
            self.observe(batch_id, err)

    def observe(self, batch_id: str, result: BatchStatus | BaseException) -> None:
        """Record one poll of ``batch_id``: the batch it returned, or the error it raised."""
        state = self.states[batch_id]
        if isinstance(result, BaseException):
            state.errors_in_a_row += 1
            state.last_error = str(result) if isinstance(result, RunflowError) else type(result).__name__
            if not is_transient(result):
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
        if result.created_at is not None:
            self._created[batch_id] = result.created_at.timestamp()

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

    def pause(self, now: float, poll_interval: PollInterval) -> float:
        """Seconds to sleep before the next round, cut short by the deadline; call it once a round.

        A number is waited as is; ``"adaptive"`` waits for the pending batch due soonest (see
        :mod:`~airflow_provider_runflow.batching.pacing`), from the progress recorded here at each call.
        """
        if isinstance(poll_interval, (int, float)):
            wait = float(poll_interval)
        else:
            wait = min((self._adaptive_wait(batch_id, now) for batch_id in self.pending()), default=0.0)
        return max(0.0, min(wait, self.deadline - now))

    def _adaptive_wait(self, batch_id: str, now: float) -> float:
        state = self.states[batch_id]
        current = Sample(now, state.done)
        created = self._created.setdefault(batch_id, now)
        before, last = self._samples.get(batch_id) or 2 * (Sample(created, 0),)
        self._samples[batch_id] = (current if current.done == 0 else before, current)
        return adaptive_wait(created, before, last, current, state.items_total or state.expected_items)

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
        costs = [Decimal(s.cost) for s in states if s.cost is not None]
        return (
            f"Runflow: {sum(s.terminal for s in states)}/{len(self.states)} batches finished, "
            f"{succeeded + failed}/{total} items done ({succeeded} succeeded, {failed} failed or cancelled)"
            + (f", cost so far {sum(costs, Decimal(0))}" if costs else "")
        )

    def round_over(self, now: float) -> tuple[str | None, BatchEvent | None]:
        """What a round of polls came to at ``now``: a progress line to log, and the final event, if any."""
        return self.progress(now), self.outcome(now)

    def error(self, message: str) -> BatchEvent:
        """An error event for a wait that could not start (e.g. no connection), naming its batches."""
        return self._event("error", message)

    def _event(self, status: EventStatus, message: str) -> BatchEvent:
        batches = [asdict(s) for s in self.states.values()]
        return {"status": status, "message": message, "batches": batches, "carry": self.carry}
