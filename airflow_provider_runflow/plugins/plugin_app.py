"""The outputs plugin's one ASGI app under ``/runflow-outputs``: the outputs page, and the receiver's old URL.

The two are apart on purpose: the outputs app requires an Airflow login with access to the
DAG on every route it has (an app-wide dependency); the callback receiver, which Runflow calls
and which cannot log in, is authenticated by the callback's signature alone. The receiver has
its own app now (``/runflow-callbacks``); its URL here is kept, deprecated, for callbacks
configured before.
"""

from __future__ import annotations

from fastapi import FastAPI

from airflow_provider_runflow.plugins import outputs_app
from airflow_provider_runflow.plugins.callback_receiver import deprecated_router

app = FastAPI(title="Runflow outputs", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(deprecated_router)
app.mount("/", outputs_app.app)
