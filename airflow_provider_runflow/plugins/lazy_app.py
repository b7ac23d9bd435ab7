"""A plugin's ASGI app imported by its first request, so that loading the plugin stays light.

Every Airflow process loads plugins, task processes included; importing a FastAPI app (FastAPI,
Airflow's API security and models) takes seconds and logs a deprecation warning. Only the
api-server receives requests, so only it pays for the import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send


class LazyApp:
    """The ASGI app ``module:attribute``, imported when the first request comes."""

    def __init__(self, target: str) -> None:
        self.target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        module, attribute = self.target.split(":")
        app = getattr(importlib.import_module(module), attribute)
        await app(scope, receive, send)


def fastapi_app(name: str, target: str, url_prefix: str) -> dict[str, Any]:
    """An entry of a plugin's ``fastapi_apps``: the app ``target`` (``module:attribute``), imported when first used."""
    return {"name": name, "app": LazyApp(target), "url_prefix": url_prefix}
