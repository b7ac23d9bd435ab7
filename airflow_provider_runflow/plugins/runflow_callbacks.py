"""The "Runflow callbacks" plugin: the receiver of Runflow's signed batch callbacks in Airflow's api-server.

``POST /runflow-callbacks/{conn_id}`` turns each verified callback into an asset event
(docs/events.md). Registered by the package's ``airflow.plugins`` entry point, beside the
outputs page; like it, this module stays light and the app is imported by its first request.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_runflow.plugins.lazy_app import fastapi_app

URL_PREFIX = "/runflow-callbacks"


class RunflowCallbacksPlugin(AirflowPlugin):
    """The callback receiver's app under ``/runflow-callbacks``: no Airflow login, the signature authenticates."""

    name = "runflow_callbacks"
    fastapi_apps = [fastapi_app("runflow-callbacks", f"{__package__}.callback_receiver:app", URL_PREFIX)]
