"""The "Runflow outputs" extra link: opens the task instance's "Runflow outputs" tab in Airflow's UI."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, conf

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey

OUTPUTS_TAB = "runflow-outputs"
"""The ``url_route`` of the plugin's task-instance view (``plugins/runflow_outputs.py``)."""


def outputs_tab_url(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The UI address of a task instance's tab, under ``[api] base_url`` when it is set (else site-relative)."""
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    task = "/".join(quote(part, safe="") for part in ("dags", dag_id, "runs", run_id, "tasks", task_id))
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    return f"{base}/{task}{mapped}/plugin/{OUTPUTS_TAB}"


class RunflowOutputsLink(BaseOperatorLink):
    """Link to the page that shows the task's items, thumbnails and errors (the provider's UI plugin)."""

    name = "Runflow outputs"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return outputs_tab_url(ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)
