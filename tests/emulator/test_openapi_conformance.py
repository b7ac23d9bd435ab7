"""Every emulator response conforms to the OpenAPI contract in ``emulator/openapi.yaml``.

Schemathesis generates requests for every operation and checks status codes, content types,
headers and bodies; the scenario test then walks real batches through their states (generated
ids mostly meet 404s) and validates each response against its operation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

import airflow_provider_runflow.emulator as emulator_package
from airflow_provider_runflow.emulator import RunflowEmulator

SPEC = Path(emulator_package.__file__).parent / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_conforming_responses(case: schemathesis.Case, fast_emulator: RunflowEmulator) -> None:
    key = fast_emulator.service_key if "admin" in case.path else fast_emulator.api_key
    case.call_and_validate(base_url=fast_emulator.url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)


def _validate(response: httpx.Response, path: str, method: str) -> Any:
    schema[path][method].validate_response(response)
    return response.json()


def test_batches_in_every_state_conform(emu: RunflowEmulator) -> None:
    http = httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.api_key}"})
    items = [{"text": "a", "client_ref": "r0"}, {"text": "b", "fail": True}, {"text": "c", "run_seconds": 500.0}]
    body = {"input": items, "metadata": {"k": "v"}, "callback_url": "http://127.0.0.1:9/hook"}
    created = _validate(
        http.post("/v1/models/acme/test-model/batches", json=body), "/v1/models/{owner}/{slug}/batches", "POST"
    )
    batch_id = created["id"]
    for params in ({}, {"embed": "run"}, {"fields": "id,status_code", "limit": "1"}):
        _validate(http.get(f"/v1/batches/{batch_id}/items", params=params), "/v1/batches/{batch_id}/items", "GET")
    time.sleep(0.05)
    detail = _validate(http.get(f"/v1/batches/{batch_id}"), "/v1/batches/{id}", "GET")
    assert detail["status_code"] == "running"
    run_id = created["items"][2]["run_id"]
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.service_key}"}) as admin:
        cancel = admin.post(f"/v1/admin/runs/{run_id}/cancellation", json={"reason": "conformance"})
    assert _validate(cancel, "/v1/admin/runs/{run_id}/cancellation", "POST")["cancelled"] is True
    time.sleep(0.1)
    detail = _validate(http.get(f"/v1/batches/{batch_id}"), "/v1/batches/{id}", "GET")
    assert detail["status_code"] == "partial_succeeded"
    assert detail["output"]["cancelled"] == 1
    redelivery = http.post(f"/v1/batches/{batch_id}/callback-redeliveries")
    _validate(redelivery, "/v1/batches/{batch_id}/callback-redeliveries", "POST")
    time.sleep(0.1)
    history = _validate(http.get(f"/v1/batches/{batch_id}/callback"), "/v1/batches/{batch_id}/callback", "GET")
    assert len(history) == 2
    assert history[0]["attempts"]
    _validate(http.get(f"/v1/batches/{batch_id}/items", params={"embed": "run"}), "/v1/batches/{batch_id}/items", "GET")


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/v1/batches/not-a-uuid", "/v1/batches/{id}"),
        ("GET", "/v1/batches/3c90c3cc-0d44-4b50-8888-8dd25736052a/items?limit=0", "/v1/batches/{batch_id}/items"),
        ("POST", "/v1/models/acme/single-only/batches", "/v1/models/{owner}/{slug}/batches"),
    ],
)
def test_error_responses_conform(emu: RunflowEmulator, method: str, path: str, template: str) -> None:
    response = httpx.request(
        method, emu.url + path, json={"input": [{}]}, headers={"Authorization": f"Bearer {emu.api_key}"}
    )
    assert response.status_code == 422
    _validate(response, template, method)
