"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_runflow import __version__

INTEGRATION = "Runflow"


PROVIDER_INFO: dict[str, Any] = {
    "package-name": "airflow-provider-runflow",
    "name": "Runflow",
    "description": "Run AI image and video models over many inputs with Runflow's batch API.",
    "versions": [__version__],
    "integrations": [
        {
            "integration-name": INTEGRATION,
            "external-doc-url": "https://docs.runflow.io",
            "tags": ["service"],
        }
    ],
    "operators": [
        {
            "integration-name": INTEGRATION,
            "python-modules": ["airflow_provider_runflow.operators.batch", "airflow_provider_runflow.operators.media"],
        }
    ],
    "task-decorators": [
        {"name": "runflow_batch", "class-name": "airflow_provider_runflow.decorators.batch.runflow_batch_task"}
    ],
    "sensors": [{"integration-name": INTEGRATION, "python-modules": ["airflow_provider_runflow.sensors.batch"]}],
    "hooks": [{"integration-name": INTEGRATION, "python-modules": ["airflow_provider_runflow.hooks.runflow"]}],
    "triggers": [{"integration-name": INTEGRATION, "python-modules": ["airflow_provider_runflow.triggers.batch"]}],
    "asset-uris": [
        {
            "schemes": ["runflow"],
            "handler": "airflow_provider_runflow.assets.runflow.sanitize_uri",
        }
    ],
    "extra-links": [
        "airflow_provider_runflow.links.batch.RunflowBatchLink",
        "airflow_provider_runflow.links.outputs.RunflowOutputsLink",
    ],
    # The UI plugin and the callback receiver are registered by their airflow.plugins entry points alone (docs/ui.md).
    "config": {
        "runflow": {
            "description": "The Runflow provider's settings.",
            "options": {
                "ui_storage_roots": {
                    "description": (
                        "Object-storage locations (comma-separated URI prefixes) from which the Runflow "
                        "outputs page may read results files (output_path) and stored media. Empty: none; "
                        "the page then shows results kept in XCom and Runflow's own URLs only."
                    ),
                    "version_added": "0.2.0",
                    "type": "string",
                    "example": "s3://my-bucket/runflow,file:///data/runflow",
                    "default": "",
                },
                "worker_wait_seconds": {
                    "description": (
                        "How long a deferrable Runflow task waits for its batches on the worker before it "
                        "defers. Batches that end sooner finish there, without a trip through the triggerer; "
                        "0 defers at once (docs/reliability.md, the defer race)."
                    ),
                    "version_added": "0.2.0",
                    "type": "float",
                    "example": "0",
                    "default": "10",
                },
                "min_deferral_seconds": {
                    "description": (
                        "The least time a deferred Runflow task stays deferred: the triggerer holds an "
                        "event that comes sooner until this long after the task deferred, because Airflow "
                        "fails some tasks resumed within seconds of deferring (apache/airflow#71580). "
                        "0 sends events at once (docs/reliability.md, the defer race)."
                    ),
                    "version_added": "0.2.0",
                    "type": "float",
                    "example": "20",
                    "default": "10",
                },
                "ui_shared_storage_roots": {
                    "description": (
                        "Object-storage locations (comma-separated URI prefixes) where the Runflow outputs page "
                        "reads any results file or stored media a task recorded, not only those in the task "
                        "instance's own folder: for a deployment of one team, or a location its teams share."
                    ),
                    "version_added": "0.2.0",
                    "type": "string",
                    "example": "s3://team-a-results",
                    "default": "",
                },
                "ui_media_streams_per_user": {
                    "description": (
                        "Stored media files one user may stream at once from one api-server worker process; "
                        "more wait up to 5 seconds for a free slot, then get HTTP 429."
                    ),
                    "version_added": "0.2.0",
                    "type": "integer",
                    "example": "8",
                    "default": "8",
                },
                "media_allowed_networks": {
                    "description": (
                        "Host names, addresses and CIDR networks (comma-separated) that media persistence may "
                        "fetch from besides public addresses; loopback, private, link-local and metadata "
                        "addresses are refused otherwise. Read by the worker; MediaOptions(allowed_networks=...) "
                        "overrides it per operator."
                    ),
                    "version_added": "0.2.0",
                    "type": "string",
                    "example": "10.20.0.0/16,media.internal",
                    "default": "",
                },
                "ui_media_stream_seconds": {
                    "description": "Seconds after which a stored media stream is cut, however far it got.",
                    "version_added": "0.2.0",
                    "type": "float",
                    "example": "300",
                    "default": "300",
                },
            },
        }
    },
    "connection-types": [
        {
            "hook-class-name": "airflow_provider_runflow.hooks.runflow.RunflowHook",
            "hook-name": "Runflow",
            "connection-type": "runflow",
            "conn-fields": {
                "organization_id": {
                    "label": "Organization ID",
                    "description": "Sent as X-Organization-Id; empty means the API key's organization.",
                    "schema": {"type": ["string", "null"]},
                },
                "timeout": {
                    "label": "Request timeout (seconds)",
                    "schema": {"type": ["number", "null"], "default": 30},
                },
                "max_retries": {
                    "label": "Max retries",
                    "description": "Retries of rate-limited (429), 5xx and network failures.",
                    "schema": {"type": ["integer", "null"], "default": 4},
                },
                "max_requests_per_second": {
                    "label": "Max requests per second",
                    "description": "Cap per process, shared by the tasks and triggers of this connection; empty: none.",
                    "schema": {"type": ["number", "null"]},
                },
                "dashboard_url": {
                    "label": "Dashboard URL",
                    "description": "Base URL for 'Runflow batch' links when the API gives none.",
                    "schema": {"type": ["string", "null"]},
                },
                "callback_secrets": {
                    "label": "Callback secrets",
                    "description": (
                        "Webhook secrets (whsec_...) that Airflow's callback receiver verifies "
                        "Runflow-Signature with; two, comma-separated, during a rotation (docs/events.md)."
                    ),
                    "schema": {"type": ["string", "null"], "format": "password"},
                },
            },
            "ui-field-behaviour": {
                "hidden-fields": ["schema", "port", "login", "extra"],
                "relabeling": {"host": "API base URL", "password": "API key"},
                "placeholders": {"host": "https://api.runflow.io", "password": "rf_live_..."},
            },
        }
    ],
}
"""What this provider adds to Airflow: its connection type and form, hooks, and the like."""


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata, for Airflow's ProvidersManager."""
    return PROVIDER_INFO
