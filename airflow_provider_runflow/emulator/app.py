"""The emulator as one ASGI application: Runflow routes behind latency and fault injection, plus control routes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

from airflow_provider_runflow.emulator import routes
from airflow_provider_runflow.emulator.api import RunflowApi
from airflow_provider_runflow.emulator.callbacks import CallbackDispatcher
from airflow_provider_runflow.emulator.control import PREFIX, ControlApi
from airflow_provider_runflow.emulator.errors import ApiError
from airflow_provider_runflow.emulator.faults import Fault, FaultKind, FaultPlan
from airflow_provider_runflow.emulator.http import (
    Receive,
    Reply,
    Request,
    Router,
    Scope,
    Send,
    read_request,
    send_and_drop,
    send_reply,
)
from airflow_provider_runflow.emulator.settings import EmulatorSettings
from airflow_provider_runflow.emulator.state import Store
from airflow_provider_runflow.emulator.stats import Stats
from airflow_provider_runflow.emulator.views import error_body

log = logging.getLogger(__name__)

_REFUSALS = {
    FaultKind.RATE_LIMIT: (429, "RATE_LIMITED", "rate limit exceeded"),
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER: (429, "RATE_LIMITED", "rate limit exceeded"),
    FaultKind.SERVER_ERROR: (500, "INTERNAL_ERROR", "internal server error (injected)"),
    FaultKind.UNAVAILABLE: (503, "SERVICE_UNAVAILABLE", "service unavailable (injected)"),
}
_SERVED_THEN_SPOILT = {FaultKind.LOSE_RESPONSE, FaultKind.TRUNCATED_PAGE, FaultKind.DELAY}


class EmulatorApp:
    """Serves the Runflow routes and ``/_emulator/`` control routes; runs the callback loop during its lifespan."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.store = Store(settings)
        self.callbacks = CallbackDispatcher(self.store, settings)
        self.faults = FaultPlan(settings.seed)
        self.faults.replace(settings.faults)
        self.stats = Stats()
        self.api = RunflowApi(self.store, settings, self.callbacks)
        self.router, self.control = Router(), Router()
        self.api.install(self.router)
        ControlApi(self.store, self.faults, self.stats, self.callbacks).install(self.control)
        self._request_ids = itertools.count(1)

    def set_base_url(self, url: str) -> None:
        """The URL clients reach this server at, used in ``links``."""
        self.api.base_url = url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            request = await read_request(scope, receive)
            if request.path.startswith(PREFIX):
                await send_reply(send, self._dispatch(self.control, request))
            else:
                await self._serve(request, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()
        loop_task = asyncio.get_running_loop().create_task(self.callbacks.run())
        await send({"type": "lifespan.startup.complete"})
        await receive()
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
        await self.callbacks.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    async def _serve(self, request: Request, send: Send) -> None:
        """Answer a Runflow request, after the configured latency and whatever fault is picked for it."""
        matched = self.router.match(request.method, request.path)
        route = matched[0].template if matched else routes.UNMATCHED
        fault = self.faults.pick(route) if matched else None
        if self.settings.latency:
            await asyncio.sleep(self.settings.latency)
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay)
        if fault is None or fault.kind in _SERVED_THEN_SPOILT:
            reply = self._dispatch(self.router, request)
        else:
            reply = _fault_reply(fault)
        reply.headers.append((b"runflow-request-id", f"req_{next(self._request_ids):012d}".encode()))
        if fault is not None and fault.kind in (FaultKind.DROP_CONNECTION, FaultKind.LOSE_RESPONSE):
            self.stats.record(request, route, "dropped")
            await send_and_drop(send, reply)
            return
        if fault is not None and fault.kind is FaultKind.TRUNCATED_PAGE:
            reply.body = reply.body[: len(reply.body) // 2]
        self.stats.record(request, route, str(reply.status))
        await send_reply(send, reply)

    def _dispatch(self, router: Router, request: Request) -> Reply:
        matched = router.match(request.method, request.path)
        if matched is None:
            return _unrouted(router, request)
        route, request.params = matched
        try:
            return route.handler(request)
        except ApiError as err:
            return Reply(err.status, error_body(err.code, err.message, err.errors))
        except Exception:
            log.exception("emulator handler of %s failed", route.template)
            return Reply(500, error_body("INTERNAL_ERROR", f"emulator bug in {route.template}"))


def _unrouted(router: Router, request: Request) -> Reply:
    allowed = router.allowed(request.path)
    if allowed:
        message = f"{request.method} is not allowed on {request.path}"
        return Reply(405, error_body("METHOD_NOT_ALLOWED", message), [(b"allow", ", ".join(allowed).encode())])
    return Reply(404, error_body("NOT_FOUND", f"no route for {request.method} {request.path}"))


def _fault_reply(fault: Fault) -> Reply:
    """The response a refusing fault sends instead of serving the request."""
    if fault.kind in _REFUSALS:
        status, code, message = _REFUSALS[fault.kind]
        headers = [(b"retry-after", str(fault.retry_after).encode())] if fault.kind is FaultKind.RATE_LIMIT else []
        return Reply(status, error_body(code, message), headers)
    if fault.kind is FaultKind.BAD_GATEWAY:
        return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type=b"text/html")
    if fault.kind is FaultKind.MALFORMED_JSON:
        return Reply(200, b'{"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status_code": "succ')
    return Reply(200, error_body("DROPPED", "this response is never completed"))
