"""Helpers of the emulator tests: clients configured for the emulator, and polling to a terminal state."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_runflow.client import (
    AsyncRunflowClient,
    Batch,
    ClientConfig,
    RetryPolicy,
    RunflowClient,
    calls,
)
from airflow_provider_runflow.client.calls import ApiCall
from airflow_provider_runflow.client.status import is_terminal
from airflow_provider_runflow.emulator import RunflowEmulator

FAST_RETRY = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05, jitter=0.01, max_retry_after=0.05)
NO_RETRY = RetryPolicy(max_attempts=1)
OTHER_KEY, SHARED_KEY = "rf_live_other", "rf_live_shared"
API_KEYS = {"rf_live_emulator": "acme-org", OTHER_KEY: "other-org", SHARED_KEY: ["shared-org", "acme-org"]}


def make_client(
    emu: RunflowEmulator,
    *,
    api_key: str | None = None,
    retry: RetryPolicy = FAST_RETRY,
    organization_id: str | None = None,
    timeout: float = 10.0,
) -> RunflowClient:
    config = ClientConfig(
        api_key=api_key or emu.api_key, base_url=emu.url, retry=retry, organization_id=organization_id, timeout=timeout
    )
    return RunflowClient(config)


def make_async_client(emu: RunflowEmulator, *, retry: RetryPolicy = FAST_RETRY) -> AsyncRunflowClient:
    return AsyncRunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url, retry=retry))


def wait_terminal(client: RunflowClient, batch_id: str, timeout: float = 5.0) -> Batch:
    """Poll until the batch is terminal (or ``timeout`` passes), returning the last state."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.send(calls.get_batch(batch_id))
        if is_terminal(batch.status_code) or time.monotonic() > deadline:
            return batch
        time.sleep(0.005)


def raw_create(model: str, body: Any, idempotency_key: str | None = None) -> ApiCall[Batch]:
    """A batch creation call with ``body`` as given, bypassing the client's local validation."""
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    path = f"/v1/models/{model}/batches"
    body_bytes = calls.json_body(body)
    return ApiCall(
        "POST", path, Batch.model_validate_json, body=body_bytes, headers=headers, replayable=bool(idempotency_key)
    )
