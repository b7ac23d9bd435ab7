"""The plugin's one ASGI app under ``/runflow-outputs``: the callback receiver, then the outputs page.

The two are apart on purpose: the outputs app requires an Airflow login with access to the
DAG on every route it has (an app-wide dependency); the callback receiver, which Runflow calls
and which cannot log in, is authenticated by the callback's signature alone.
"""

from __future__ import annotations

from fastapi import FastAPI

from airflow_provider_runflow.plugins import outputs_app
from airflow_provider_runflow.plugins.callback_receiver import router as callback_router

app = FastAPI(title="Runflow", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(callback_router)
app.mount("/", outputs_app.app)
