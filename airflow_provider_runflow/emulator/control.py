"""The control API under ``/_emulator/``, apart from the Runflow surface: faults, counters, reset, forced states."""

from __future__ import annotations

import json
import time
from typing import Any

from airflow_provider_runflow.emulator.callbacks import CallbackDispatcher
from airflow_provider_runflow.emulator.errors import ApiError, not_found, validation_error
from airflow_provider_runflow.emulator.faults import FaultPlan, FaultRule
from airflow_provider_runflow.emulator.http import Reply, Request, Router
from airflow_provider_runflow.emulator.state import ForcedStatus, Store
from airflow_provider_runflow.emulator.stats import Stats
from airflow_provider_runflow.emulator.views import dumps

PREFIX = "/_emulator/"


class ControlApi:
    """Handlers of ``/_emulator/...``; unauthenticated, as the emulator only listens on loopback by default."""

    def __init__(self, store: Store, faults: FaultPlan, stats: Stats, callbacks: CallbackDispatcher) -> None:
        self.store, self.faults, self.stats, self.callbacks = store, faults, stats, callbacks

    def install(self, router: Router) -> None:
        router.add("GET /_emulator/counters", self.counters)
        router.add("GET /_emulator/requests", self.requests)
        router.add("GET /_emulator/faults", self.get_faults)
        router.add("PUT /_emulator/faults", self.set_faults)
        router.add("DELETE /_emulator/faults", self.clear_faults)
        router.add("POST /_emulator/reset", self.reset)
        router.add("POST /_emulator/batches/{batch_id}/status", self.force_status)

    def counters(self, request: Request) -> Reply:
        return Reply(
            200,
            dumps(
                {
                    "batches_created": self.store.batches_created,
                    "batches": len(self.store.batches),
                    "callback_attempts": self.callbacks.attempts_made,
                    "requests": self.stats.request_counts(),
                }
            ),
        )

    def requests(self, request: Request) -> Reply:
        return Reply(200, dumps(list(self.stats.log)))

    def get_faults(self, request: Request) -> Reply:
        return Reply(200, dumps([rule.to_json() for rule in self.faults.active()]))

    def set_faults(self, request: Request) -> Reply:
        """Replace every fault rule with the JSON list in the body."""
        data = _json(request.body)
        if not isinstance(data, list):
            raise validation_error("body must be a JSON list of fault rules")
        try:
            rules = [FaultRule.from_json(rule) for rule in data]
        except (TypeError, ValueError) as err:
            raise validation_error(f"invalid fault rule: {err}") from None
        self.faults.replace(rules)
        return self.get_faults(request)

    def clear_faults(self, request: Request) -> Reply:
        self.faults.replace([])
        return Reply(200, b"[]")

    def reset(self, request: Request) -> Reply:
        """Forget every batch, delivery, counter, logged request and fault rule."""
        self.store.reset()
        self.callbacks.reset()
        self.stats.reset()
        self.faults.replace([])
        return Reply(200, b'{"reset":true}')

    def force_status(self, request: Request) -> Reply:
        """Override a batch's status (any string), e.g. ``errored`` or an unknown one, from now on."""
        batch = self.store.batches.get(request.params["batch_id"])
        if batch is None:
            raise not_found(f"batch {request.params['batch_id']}")
        data = _json(request.body)
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise validation_error('body must be {"status": "...", "failure_code": ..., "failure_message": ...}')
        now = time.time()
        self.store.force_status(
            batch, ForcedStatus(data["status"], data.get("failure_code"), data.get("failure_message"), now)
        )
        self.callbacks.watch(batch, now)
        return Reply(200, dumps({"batch_id": batch.id, "status_code": batch.snapshot(now).status}))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", "request body is not valid JSON") from None
