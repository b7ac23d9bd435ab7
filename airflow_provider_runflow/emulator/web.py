"""What the Runflow and control APIs share on Starlette: routes named by template, JSON replies, error envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_runflow.emulator.errors import ApiError
from airflow_provider_runflow.emulator.views import error_body

Endpoint = Callable[[Request], Awaitable[Response]]


def route(template: str, endpoint: Endpoint, *, multi_segment: tuple[str, ...] = ()) -> Route:
    """A route for ``template`` (``"GET /v1/batches/{id}"``), named by it; ``multi_segment`` parameters may hold ``/``.

    The name is what counters, fault rules and the control index call the route.
    """
    method, path = template.split(" ", 1)
    for name in multi_segment:
        path = path.replace(f"{{{name}}}", f"{{{name}:path}}")
    return Route(path, endpoint, methods=[method], name=template)


def json_reply(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status, headers, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_reply(error_body(exc.code, exc.message, exc.errors), exc.status)


async def _unrouted(request: Request, exc: Exception) -> Response:
    """Runflow's envelope for what Starlette's router refuses: no route (404) or a wrong method (405, ``Allow``).

    The router raises no other HTTPException here.
    """
    assert isinstance(exc, HTTPException)
    method, path = request.method, request.url.path
    if exc.status_code == 405:
        allow = {"allow": ", ".join(_methods_on(request.app.router.routes, path))}
        return json_reply(error_body("METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}"), 405, allow)
    return json_reply(error_body("NOT_FOUND", f"no route for {method} {path}"), exc.status_code, exc.headers)


def _methods_on(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """Every method some route serves on ``path`` (Starlette's own ``Allow`` names only the first route's)."""
    return sorted(
        {method for r in routes if isinstance(r, Route) and r.path_regex.match(path) for method in r.methods or ()}
    )


async def _emulator_bug(request: Request, exc: Exception) -> Response:
    """A 500 in the envelope; Starlette then re-raises, so the server logs the traceback."""
    return json_reply(error_body("INTERNAL_ERROR", f"emulator bug in {request.method} {request.url.path}"), 500)


EXCEPTION_HANDLERS: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: _api_error,
    HTTPException: _unrouted,
    Exception: _emulator_bug,
}
