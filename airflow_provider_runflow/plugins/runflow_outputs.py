"""The "Runflow outputs" plugin: an app in Airflow's api-server (the outputs page and the callback
receiver, docs/events.md) and a tab on every task instance.

Registered by the package's ``airflow.plugins`` entry point (docs/ui.md says why not by provider
info). Every Airflow process loads plugins, task processes included, so this module stays light:
the FastAPI app is imported by its first request, which only the api-server receives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_runflow.links.outputs import OUTPUTS_TAB

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

URL_PREFIX = "/runflow-outputs"


class OutputsApp:
    """The plugin's ASGI app: the FastAPI app of ``plugin_app``, imported when a request comes.

    Importing it (FastAPI, Airflow's API security and models) takes seconds, and logs a
    deprecation warning, in every process that loads plugins; only the api-server needs it.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from airflow_provider_runflow.plugins.plugin_app import app

        await app(scope, receive, send)


class RunflowOutputsPlugin(AirflowPlugin):
    """The page's app (and the callback receiver) under ``/runflow-outputs``, and its tab on task-instance pages."""

    name = "runflow_outputs"
    fastapi_apps = [{"name": "runflow-outputs", "app": OutputsApp(), "url_prefix": URL_PREFIX}]
    external_views = [
        {
            "name": "Runflow outputs",
            # Airflow's UI fills in the placeholders; {MAP_INDEX} stays as it is for unmapped tasks.
            "href": f"{URL_PREFIX}/outputs?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}"
            "&map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": OUTPUTS_TAB,
        }
    ]
