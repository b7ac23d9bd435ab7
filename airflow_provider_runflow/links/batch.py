"""The "Runflow batch" extra link on tasks that created or waited for Runflow batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context, TaskInstanceKey

XCOM_BATCH_URL = "runflow_batch_url"
_HUMAN_LINK_KEYS = ("dashboard", "html", "web", "app", "ui")


def batch_url(batch_id: str, links: dict[str, Any] | None, dashboard_url: str | None) -> str | None:
    """Where a person can see ``batch_id``: the API's own link when it gives one, else the dashboard's."""
    for key in _HUMAN_LINK_KEYS:
        if isinstance(value := (links or {}).get(key), str) and value.startswith(("http://", "https://")):
            return value
    if dashboard_url:
        return f"{dashboard_url.rstrip('/')}/batches/{batch_id}"
    self_link = (links or {}).get("self")
    return self_link if isinstance(self_link, str) else None


def publish_batch_url(
    task: BaseOperator, context: Context, batch_id: str, links: dict[str, Any] | None, dashboard_url: str | None
) -> None:
    """Where a person can see the task's first batch, once known: on the task (for :class:`RunflowBatchLink`)
    and as the ``runflow_batch_url`` XCom."""
    if url := batch_url(batch_id, links, dashboard_url):
        task.runflow_batch_url = url
        context["ti"].xcom_push(key=XCOM_BATCH_URL, value=url)


class RunflowBatchLink(BaseOperatorLink):
    """Link to the (first) Runflow batch of the task, once it is known.

    Airflow asks for it in the task's own process when the task stops (also when it defers)
    and stores the answer for the UI. The task keeps the URL on itself
    (``runflow_batch_url``, also an XCom) so that asking never reads an XCom that does not
    exist yet: that read logs an error on every deferral before the URL is known.
    """

    name = "Runflow batch"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        url = getattr(operator, "runflow_batch_url", None)
        return url if isinstance(url, str) else ""
