"""RunflowBatchTrigger: waits on the triggerer for Runflow batches to finish, without a worker slot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_runflow.batching.pacing import PollInterval, check_poll_interval
from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import AsyncRunflowClient
from airflow_provider_runflow.client.cancellation import cancel_batches, may_cancel
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.triggers.client_pool import SharedClient, borrow, give_back
from airflow_provider_runflow.triggers.kill_check import killed_by_user, run_to_the_end


class RunflowBatchTrigger(BaseTrigger):
    """Poll Runflow batches until all are terminal, the deadline passes, or polling fails for good.

    Yields exactly one event, ``{"status": "success" | "timeout" | "error", "message", "batches",
    "carry"}``, with all the task needs to go on (each batch's ``expected_items`` too).
    Everything it needs is in :meth:`serialize` (never the API key, never the inputs), and the
    deadline is wall-clock time, because the trigger may resume in another triggerer process.

    :param batch_ids: the batches to wait for.
    :param deadline: epoch seconds after which the wait ends with a ``timeout`` event.
    :param runflow_conn_id: the Runflow connection.
    :param poll_interval: seconds between polls of the batches still running, or ``"adaptive"``
        (paced by the batches' progress, see :mod:`~airflow_provider_runflow.batching.pacing`).
    :param max_poll_failures: transient poll failures in a row, after the client's retries, that end the wait.
    :param poll_concurrency: how many batches of this trigger are polled at once.
    :param cancel_on_kill: cancel the batches' unfinished runs when a user kills the task (service keys only).
    :param expected_items: how many items each batch was created with, handed back in the event.
    :param carry: a JSON value the task needs when it resumes, handed back in the event unchanged (the
        operator's rounds so far; the sensor's start): ``dag.test()`` resumes a task with the event alone.
        Held as its JSON text while the trigger waits (see :attr:`carry`).
    :param resume_after: epoch seconds before which a triggerer does not send the event (see :meth:`run`).
    """

    def __init__(
        self,
        *,
        batch_ids: list[str],
        deadline: float,
        runflow_conn_id: str = RunflowHook.default_conn_name,
        poll_interval: PollInterval = "adaptive",
        max_poll_failures: int = 5,
        poll_concurrency: int = 10,
        cancel_on_kill: bool = False,
        expected_items: list[int] | None = None,
        carry: Any = None,
        resume_after: float | None = None,
    ) -> None:
        super().__init__()
        if not batch_ids:
            raise ValueError("batch_ids must not be empty")
        if poll_concurrency < 1 or max_poll_failures < 1:
            raise ValueError("poll_concurrency and max_poll_failures must be >= 1")
        self.batch_ids = list(batch_ids)
        self.deadline = float(deadline)
        self.runflow_conn_id = runflow_conn_id
        self.poll_interval = check_poll_interval(poll_interval)
        self.max_poll_failures = max_poll_failures
        self.poll_concurrency = poll_concurrency
        self.cancel_on_kill = cancel_on_kill
        self.expected_items = expected_items
        try:
            self._carry = json.dumps(carry)
        except (TypeError, ValueError) as err:
            raise ValueError(f"carry must be a JSON value: {err}") from None
        self.resume_after = resume_after
        self._tracker()  # refuses an expected_items that does not match batch_ids, now
        # One logger for the class: Airflow's per-instance one costs ~9 objects per deferred task, and a
        # triggerer files each line under its trigger by the log context it binds per trigger, not by logger.
        self._log = type(self).logger()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "batch_ids": self.batch_ids,
                "deadline": self.deadline,
                "runflow_conn_id": self.runflow_conn_id,
                "poll_interval": self.poll_interval,
                "max_poll_failures": self.max_poll_failures,
                "poll_concurrency": self.poll_concurrency,
                "cancel_on_kill": self.cancel_on_kill,
                "expected_items": self.expected_items,
                "carry": self.carry,
                "resume_after": self.resume_after,
            },
        )

    @property
    def carry(self) -> Any:
        """The ``carry`` argument, decoded afresh: the trigger only hands it back, and as text it is no
        object for the garbage collector to walk (the operator's rounds are a few lists and dicts per
        deferred task, thousands of them in a triggerer)."""
        return json.loads(self._carry)

    def _tracker(self) -> BatchTracker:
        """The wait's tracker; the event gets ``carry`` only at the end (see :attr:`carry`)."""
        return BatchTracker(self.batch_ids, self.deadline, self.max_poll_failures, expected_items=self.expected_items)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the wait is over; in a triggerer, send the event no sooner than ``resume_after``.

        Airflow fails some tasks resumed within seconds of deferring: the worker's "success" for the
        deferring try, processed after the resumed try was queued, reads as a task killed externally
        (apache/airflow#66374, #71580, #72716). ``dag.test()`` runs no scheduler, so no hold there.
        """
        event = await self._wait()
        if self.resume_after is not None and getattr(self, "task_instance", None) is not None:
            await asyncio.sleep(max(0.0, self.resume_after - time.time()))
        yield TriggerEvent({**event, "carry": self.carry})

    async def _wait(self) -> BatchEvent:
        tracker = self._tracker()
        try:
            config = await RunflowHook(self.runflow_conn_id).aclient_config()
        except Exception as err:  # a missing or broken connection must end in an event, not a crash
            return tracker.error(f"Connection {self.runflow_conn_id!r}: {err}")
        client = await borrow(config)  # not ``async with``: see borrow()
        del config  # the shared client's copy serves every trigger of the connection: this one keeps none
        try:
            # Polling a remote API: there is no local event to wait on instead.
            while (event := await self._poll(client, tracker)) is None:  # noqa: ASYNC110
                await asyncio.sleep(tracker.pause(time.time(), self.poll_interval))
        finally:
            await give_back(client)
        return event

    async def _poll(self, client: AsyncRunflowClient, tracker: BatchTracker) -> BatchEvent | None:
        """Fetch every pending batch once, at most ``poll_concurrency`` at a time; the final event, if any."""
        pending = tracker.pending()
        if len(pending) == 1:  # the common case, on the hot path of thousands of triggers: no task, no gate
            await client.send(tracker.poll(pending[0]))
        else:
            gate = asyncio.Semaphore(self.poll_concurrency)

            async def poll(batch_id: str) -> None:
                async with gate:
                    await client.send(tracker.poll(batch_id))

            await asyncio.gather(*(poll(batch_id) for batch_id in pending))
        line, event = tracker.round_over(time.time())
        if line:
            self.log.info(line)
        return event

    async def on_kill(self) -> None:
        """A user killed the deferred task (Airflow 3.3+; never on a triggerer restart).

        Airflow 3.3.0-3.3.2 also call it when the trigger moves to another triggerer: then the
        task is still deferred, and nothing is cancelled.
        """
        if not self.cancel_on_kill:
            self.log.info("Task killed; Runflow batches keep running (cancel_on_kill is off): %s", self.batch_ids)
            return
        await run_to_the_end(self._cancel_if_killed_by_user(), self.log)

    async def _cancel_if_killed_by_user(self) -> None:
        if not await killed_by_user(getattr(self, "task_instance", None), self.log):
            return
        config = await RunflowHook(self.runflow_conn_id).aclient_config()
        if may_cancel(config.api_key, self.log):
            async with SharedClient(config) as client:
                await client.send(cancel_batches(self.batch_ids, self.log))
