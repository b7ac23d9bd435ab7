"""The emulator as one ASGI application: Starlette routes the Runflow and control APIs, behind fault injection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.types import ASGIApp

from airflow_provider_runflow.emulator.api import RunflowApi
from airflow_provider_runflow.emulator.callbacks import CallbackDispatcher
from airflow_provider_runflow.emulator.control import ControlApi
from airflow_provider_runflow.emulator.faults import FaultPlan
from airflow_provider_runflow.emulator.injection import FaultInjection
from airflow_provider_runflow.emulator.settings import EmulatorSettings
from airflow_provider_runflow.emulator.state import Store
from airflow_provider_runflow.emulator.stats import Stats
from airflow_provider_runflow.emulator.web import EXCEPTION_HANDLERS


def build_app(settings: EmulatorSettings, base_url: str) -> ASGIApp:
    """The emulator serving ``settings``, reached by clients at ``base_url``; its lifespan runs the callback loop."""
    store, faults, stats = Store(settings), FaultPlan(settings.seed), Stats()
    faults.replace(settings.faults)
    callbacks = CallbackDispatcher(store, settings)
    api = RunflowApi(store, settings, callbacks, base_url)
    control = ControlApi(store, faults, stats, callbacks)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop_task = asyncio.get_running_loop().create_task(callbacks.run())
        yield
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
        await callbacks.aclose()

    app = Starlette(routes=[*api.routes, *control.routes], exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.router.redirect_slashes = False  # a path with a stray slash is a 404, as on Runflow, not a redirect
    return FaultInjection(app, api.routes, faults, stats, settings.latency)
