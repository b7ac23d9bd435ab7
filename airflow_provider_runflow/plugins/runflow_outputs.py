"""The "Runflow outputs" plugin: an app in Airflow's api-server (the outputs page) and a tab on every task instance.

Registered by the package's ``airflow.plugins`` entry point (docs/ui.md says why not by provider
info). Every Airflow process loads plugins, task processes included, so this module stays light:
the FastAPI app is imported by its first request, which only the api-server receives.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_runflow.links.outputs import OUTPUTS_TAB
from airflow_provider_runflow.plugins.lazy_app import fastapi_app

URL_PREFIX = "/runflow-outputs"


class RunflowOutputsPlugin(AirflowPlugin):
    """The page's app under ``/runflow-outputs``, and its tab on task-instance pages."""

    name = "runflow_outputs"
    fastapi_apps = [fastapi_app("runflow-outputs", f"{__package__}.plugin_app:app", URL_PREFIX)]
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
