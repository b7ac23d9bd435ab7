"""The control API under ``/_emulator/``, apart from the Runflow surface: faults, counters, reset, forced states."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_runflow.emulator.callbacks import CallbackDispatcher
from airflow_provider_runflow.emulator.errors import ApiError, not_found, validation_error
from airflow_provider_runflow.emulator.faults import FaultPlan, FaultRule
from airflow_provider_runflow.emulator.state import ForcedStatus, Store
from airflow_provider_runflow.emulator.stats import Stats
from airflow_provider_runflow.emulator.views import dumps
from airflow_provider_runflow.emulator.web import json_reply, route

PREFIX = "/_emulator/"


class ControlApi:
    """Handlers of ``/_emulator/...``; unauthenticated, as the emulator only listens on loopback by default."""

    def __init__(self, store: Store, faults: FaultPlan, stats: Stats, callbacks: CallbackDispatcher) -> None:
        self.store, self.faults, self.stats, self.callbacks = store, faults, stats, callbacks
        self.routes = [
            route("GET /_emulator/", self.index),
            route("GET /_emulator/counters", self.counters),
            route("GET /_emulator/requests", self.requests),
            route("GET /_emulator/faults", self.get_faults),
            route("PUT /_emulator/faults", self.set_faults),
            route("DELETE /_emulator/faults", self.clear_faults),
            route("POST /_emulator/reset", self.reset),
            route("POST /_emulator/batches/{batch_id}/status", self.force_status),
        ]

    async def index(self, request: Request) -> Response:
        """This list: every control route and what it does."""
        return json_reply(dumps({"routes": [{"route": r.name, "does": _summary(r)} for r in self.routes]}))

    async def counters(self, request: Request) -> Response:
        """Batches and items created, callback attempts, and requests per route template and status."""
        return json_reply(
            dumps(
                {
                    "batches_created": self.store.batches_created,
                    "items_created": self.store.items_created,
                    "batches": len(self.store.batches),
                    "callback_attempts": self.callbacks.attempts_made,
                    "requests": self.stats.request_counts(),
                }
            )
        )

    async def requests(self, request: Request) -> Response:
        """Recent Runflow requests, with the Authorization header redacted."""
        return json_reply(dumps(self.stats.request_log()))

    async def get_faults(self, request: Request) -> Response:
        """The active fault rules."""
        return json_reply(dumps([rule.to_json() for rule in self.faults.active()]))

    async def set_faults(self, request: Request) -> Response:
        """Replace every fault rule with the JSON list in the body."""
        data = _json(await request.body())
        if not isinstance(data, list):
            raise validation_error("body must be a JSON list of fault rules")
        try:
            rules = [FaultRule.from_json(rule) for rule in data]
        except (TypeError, ValueError) as err:
            raise validation_error(f"invalid fault rule: {err}") from None
        self.faults.replace(rules)
        return await self.get_faults(request)

    async def clear_faults(self, request: Request) -> Response:
        """Remove every fault rule."""
        self.faults.replace([])
        return json_reply(b"[]")

    async def reset(self, request: Request) -> Response:
        """Forget every batch, delivery, counter, logged request and fault rule."""
        self.store.reset()
        self.callbacks.reset()
        self.stats.reset()
        self.faults.replace([])
        return json_reply(b'{"reset":true}')

    async def force_status(self, request: Request) -> Response:
        """Override a batch's status (any string), e.g. ``errored`` or an unknown one, from now on."""
        batch = self.store.batches.get(request.path_params["batch_id"])
        if batch is None:
            raise not_found(f"batch {request.path_params['batch_id']}")
        data = _json(await request.body())
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise validation_error('body must be {"status": "...", "failure_code": ..., "failure_message": ...}')
        now = time.time()
        self.store.force_status(
            batch, ForcedStatus(data["status"], data.get("failure_code"), data.get("failure_message"), now)
        )
        self.callbacks.watch(batch, now)
        return json_reply(dumps({"batch_id": batch.id, "status_code": batch.snapshot(now).status}))


def _summary(control: Route) -> str:
    """The first line of the route's handler docstring."""
    return (control.endpoint.__doc__ or "").strip().splitlines()[0]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", "request body is not valid JSON") from None
