"""RunflowHook: from an Airflow connection (env var, JSON or URI form) to client settings, and its test button."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import redact

from airflow_provider_runflow.client import RunflowClient
from airflow_provider_runflow.client.config import DEFAULT_BASE_URL
from airflow_provider_runflow.get_provider_info import get_provider_info
from airflow_provider_runflow.hooks.runflow import RunflowHook, callback_secrets_of

BASE_URL = "https://api.runflow.test"
PROBE = f"/v1/batches/{uuid.UUID(int=0)}"


@pytest.fixture
def api_key() -> str:
    """A key unique to the test, so no earlier test can already have it masked."""
    return f"rf_live_{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _airflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch, api_key: str) -> Any:
    """``connection(**fields)`` sets ``AIRFLOW_CONN_RUNFLOW_DEFAULT`` in JSON form (password: the test's key)."""

    def set_connection(**fields: Any) -> None:
        monkeypatch.setenv(
            "AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps({"conn_type": "runflow", "password": api_key, **fields})
        )

    return set_connection


def test_json_connection_gives_base_url_key_and_extras(connection: Any, api_key: str) -> None:
    extra = {"organization_id": "org_1", "timeout": 12, "max_retries": 2, "max_requests_per_second": "50"}
    connection(host="http://127.0.0.1:8000", extra=extra)

    config = RunflowHook().client_config

    assert config.api_key == api_key
    assert config.base_url == "http://127.0.0.1:8000"
    assert config.organization_id == "org_1"
    assert config.timeout == 12.0
    assert config.retry.max_attempts == 3
    assert config.max_requests_per_second == 50.0


def test_prefixed_extras_of_older_connection_forms_are_read(connection: Any) -> None:
    connection(
        extra={
            "extra__runflow__organization_id": "org_2",
            "extra__runflow__timeout": "7.5",
            "extra__runflow__max_retries": "0",
        }
    )

    config = RunflowHook().client_config

    assert (config.organization_id, config.timeout, config.retry.max_attempts) == ("org_2", 7.5, 1)


def test_empty_extras_mean_defaults(connection: Any) -> None:
    connection(extra={"organization_id": "", "timeout": None})

    config = RunflowHook().client_config

    assert (config.organization_id, config.timeout, config.retry.max_attempts) == (None, 30.0, 5)


@pytest.mark.parametrize(
    ("uri", "base_url"),
    [
        ("runflow://:{key}@127.0.0.1:8000/http", "http://127.0.0.1:8000"),
        ("runflow://:{key}@api.eu.runflow.test", "https://api.eu.runflow.test"),
        ("runflow://:{key}@api.eu.runflow.test:8443", "https://api.eu.runflow.test:8443"),
        ("runflow://:{key}@", DEFAULT_BASE_URL),
    ],
    ids=["host-port-and-http-schema", "bare-host", "bare-host-and-port", "no-host"],
)
def test_uri_connection_gives_base_url(monkeypatch: pytest.MonkeyPatch, api_key: str, uri: str, base_url: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", uri.format(key=api_key))

    config = RunflowHook().client_config

    assert (config.base_url, config.api_key) == (base_url, api_key)


def test_uri_connection_extras_come_from_the_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_RUNFLOW_DEFAULT", "runflow://:rf_live_k%2Fy@host.test?organization_id=org_3&max_retries=1"
    )

    config = RunflowHook().client_config

    assert (config.api_key, config.organization_id, config.retry.max_attempts) == ("rf_live_k/y", "org_3", 2)


def test_other_connection_ids_are_honoured(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_STAGING", f"runflow://:{api_key}@staging.runflow.test")

    assert RunflowHook(runflow_conn_id="runflow_staging").client_config.base_url == "https://staging.runflow.test"


def test_a_connection_without_key_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps({"conn_type": "runflow", "host": BASE_URL}))

    with pytest.raises(ValueError, match="Connection 'runflow_default' has no API key"):
        _ = RunflowHook().client_config


async def test_async_config_is_read_from_within_a_running_event_loop(connection: Any, api_key: str) -> None:
    connection(host="http://127.0.0.1:8000", extra={"organization_id": "org_1", "max_retries": 1})

    config = await RunflowHook().aclient_config()

    assert (config.api_key, config.base_url, config.organization_id) == (api_key, "http://127.0.0.1:8000", "org_1")
    assert config.retry.max_attempts == 2


def test_the_key_is_masked_in_airflow_logs_once_read(connection: Any, api_key: str) -> None:
    connection(host=BASE_URL)
    assert api_key in redact(f"key={api_key}")

    _ = RunflowHook().client_config

    assert api_key not in redact(f"key={api_key}")


async def test_the_key_is_masked_when_read_by_the_async_path(connection: Any, api_key: str) -> None:
    connection(host=BASE_URL)
    assert api_key in redact(f"key={api_key}")

    await RunflowHook().aclient_config()

    assert api_key not in redact(f"key={api_key}")


async def test_hook_builds_a_client_and_async_settings_from_the_connection(connection: Any) -> None:
    connection(host=BASE_URL, extra={"organization_id": "org_1"})
    hook = RunflowHook()

    with hook.get_conn() as client:
        assert isinstance(client, RunflowClient)
        assert client.config == hook.client_config
    assert await hook.aclient_config() == hook.client_config


def test_dashboard_url_comes_from_the_extras(connection: Any) -> None:
    connection(extra={"dashboard_url": "https://app.runflow.test"})

    assert RunflowHook().dashboard_url == "https://app.runflow.test"


def test_test_connection_accepts_a_key_that_reaches_the_probe(connection: Any, api_key: str) -> None:
    connection(host=BASE_URL)
    with respx.mock(base_url=BASE_URL) as api:
        probe = api.get(PROBE).respond(404, json={"code": "NOT_FOUND", "message": "no such batch"})

        ok, message = RunflowHook().test_connection()

    assert ok is True
    assert message == f"Connected to Runflow at {BASE_URL}: the API key was accepted."
    assert probe.calls.last.request.headers["Authorization"] == f"Bearer {api_key}"


def test_test_connection_reports_a_rejected_key(connection: Any, api_key: str) -> None:
    connection(host=BASE_URL)
    with respx.mock(base_url=BASE_URL) as api:
        probe = api.get(PROBE).respond(401, json={"code": "UNAUTHORIZED", "message": "invalid key"})

        ok, message = RunflowHook().test_connection()

    assert ok is False
    assert message == "Runflow refused the connection: the API key was rejected."
    assert probe.call_count == 1
    assert api_key not in message


def test_test_connection_names_the_permission_code(connection: Any) -> None:
    connection(host=BASE_URL)
    with respx.mock(base_url=BASE_URL) as api:
        api.get(PROBE).respond(403, json={"code": "EMAIL_NOT_VERIFIED", "message": "verify your email"})

        ok, message = RunflowHook().test_connection()

    assert ok is False
    assert message == "Runflow refused the connection: the API key lacks permission (EMAIL_NOT_VERIFIED)."


def test_test_connection_reports_an_unreachable_host(connection: Any, api_key: str) -> None:
    connection(host=BASE_URL, extra={"max_retries": 0})
    with respx.mock(base_url=BASE_URL) as api:
        api.get(PROBE).mock(side_effect=httpx.ConnectError("connection refused"))

        ok, message = RunflowHook().test_connection()

    assert ok is False
    assert message.startswith("Could not reach Runflow: GET /v1/batches/")
    assert "connection refused" in message
    assert api_key not in message


def test_test_connection_rejects_a_404_that_is_not_runflows(connection: Any) -> None:
    connection(host=BASE_URL)
    with respx.mock(base_url=BASE_URL) as api:
        api.get(PROBE).respond(404, text="<html>Not Found</html>", headers={"content-type": "text/html"})

        ok, message = RunflowHook().test_connection()

    assert ok is False
    assert "without Runflow's error envelope" in message


def test_test_connection_tries_once_even_when_retries_are_configured(connection: Any) -> None:
    connection(host=BASE_URL, extra={"max_retries": 4})
    with respx.mock(base_url=BASE_URL) as api:
        probe = api.get(PROBE).mock(side_effect=httpx.ConnectError("connection refused"))

        ok, _ = RunflowHook().test_connection()

    assert ok is False
    assert probe.call_count == 1


def test_test_connection_reports_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps({"conn_type": "runflow", "host": BASE_URL}))

    ok, message = RunflowHook().test_connection()

    assert ok is False
    assert "has no API key" in message


def connection_type() -> dict[str, Any]:
    [conn_type] = get_provider_info()["connection-types"]
    return conn_type  # type: ignore[no-any-return]


def test_connection_form_hides_unused_fields_and_relabels_host_and_password() -> None:
    behaviour = connection_type()["ui-field-behaviour"]

    assert set(behaviour["hidden-fields"]) == {"schema", "port", "login", "extra"}
    assert behaviour["relabeling"] == {"host": "API base URL", "password": "API key"}
    assert behaviour["placeholders"]["host"] == DEFAULT_BASE_URL


def test_connection_form_offers_the_extras_the_hook_reads() -> None:
    fields = connection_type()["conn-fields"]

    assert set(fields) == {
        "organization_id",
        "timeout",
        "max_retries",
        "max_requests_per_second",
        "dashboard_url",
        "callback_secrets",
    }
    assert all("label" in field and "schema" in field for field in fields.values())
    assert fields["callback_secrets"]["schema"]["format"] == "password"  # masked in the form


@pytest.mark.parametrize(
    ("extra", "secrets"),
    [
        ({"callback_secrets": "whsec_a"}, ("whsec_a",)),
        ({"callback_secrets": " whsec_a, whsec_b "}, ("whsec_a", "whsec_b")),
        ({"callback_secrets": "whsec_a whsec_b"}, ("whsec_a", "whsec_b")),
        ({"callback_secrets": ["whsec_a", " ", "whsec_b"]}, ("whsec_a", "whsec_b")),
        ({"extra__runflow__callback_secrets": "whsec_a"}, ("whsec_a",)),
        ({"callback_secrets": ""}, ()),
        ({}, ()),
    ],
)
def test_callback_secrets_are_one_or_two_whsec_values(extra: dict[str, Any], secrets: tuple[str, ...]) -> None:
    assert callback_secrets_of(extra) == secrets


def test_connection_type_points_at_the_hook() -> None:
    conn_type = connection_type()

    assert conn_type["connection-type"] == RunflowHook.conn_type == "runflow"
    assert conn_type["hook-class-name"] == f"{RunflowHook.__module__}.{RunflowHook.__qualname__}"
