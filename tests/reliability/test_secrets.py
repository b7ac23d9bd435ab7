"""The API key never leaves the Authorization header of requests to the configured host.

One DAG run exercises every error path in both modes (faults, items failing the policy, a revoked
key answered 401); then every artifact it left is searched for the key: zero hits.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow_support import states
from reliability_support import connection_json, loopback, reliability_dag

from airflow_provider_runflow.client import AsyncRunflowClient, ClientConfig, RunflowClient, RunflowResponseError, calls
from airflow_provider_runflow.client.aiohttp_transport import async_transport
from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator
from airflow_provider_runflow.hooks.runflow import RunflowHook, config_from_connection
from airflow_provider_runflow.triggers.batch import RunflowBatchTrigger

SECRET = f"rf_live_SECRET_{secrets.token_hex(8)}"
REVOKED = f"rf_live_SECRET_{secrets.token_hex(8)}_revoked"
KEYS = (SECRET, REVOKED)


@pytest.fixture(scope="module")
def secret_emulator() -> Iterator[RunflowEmulator]:
    """An emulator that knows only the distinctive key (the revoked one is answered 401)."""
    with RunflowEmulator(api_keys={SECRET: "secret-org"}) as emu:
        yield emu


def leaks(text: str) -> list[str]:
    return [key for key in KEYS if key in text]


def database_rows(db: Path) -> dict[str, list[str]]:
    """Every row of every table of the Airflow metadata DB, as text."""
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: [repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')] for table in tables}


@pytest.mark.usefixtures("fast_backoff")
def test_a_run_through_every_error_path_leaves_the_key_nowhere(
    airflow_db: Path,
    secret_emulator: RunflowEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    figures: Any,
) -> None:
    emu = secret_emulator
    emu.reset()
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", connection_json(emu, SECRET, max_retries=8))
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_REVOKED", connection_json(emu, REVOKED, max_retries=8))
    serialized: list[str] = []
    original_serialize = RunflowBatchTrigger.serialize

    def recording_serialize(self: RunflowBatchTrigger) -> tuple[str, dict[str, Any]]:
        result = original_serialize(self)
        serialized.append(json.dumps(result))
        return result

    monkeypatch.setattr(RunflowBatchTrigger, "serialize", recording_serialize)
    kinds = [FaultKind.SERVER_ERROR, FaultKind.DROP_CONNECTION, FaultKind.MALFORMED_JSON, FaultKind.LOSE_RESPONSE]
    emu.set_faults([FaultRule(route="*", kind=kind, probability=0.05) for kind in kinds])

    run = reliability_dag("reliability_secrets").test()
    output = capfd.readouterr()

    final = {task: state for (task, _), state in states(run).items()}
    assert final == {
        "items_fail_deferred": "failed",
        "items_fail_blocking": "failed",
        "tolerated_deferred": "success",
        "tolerated_blocking": "success",
        "revoked_key_deferred": "failed",
        "revoked_key_blocking": "failed",
    }
    logs = output.out + output.err
    files = [p for p in airflow_db.rglob("*") if p.is_file() and not p.is_symlink()]
    rows = database_rows(airflow_db / "airflow.db")
    requests_log = emu.requests_log()
    artifacts = {
        "stdout/stderr of dag.test() (task and trigger logs, exception texts)": logs,
        "files under AIRFLOW_HOME (logs dir, the metadata DB's bytes)": "".join(
            p.read_bytes().decode("latin-1") for p in files
        ),
        "serialized trigger kwargs": "".join(serialized),
        "emulator request log": json.dumps(requests_log),
        **{f"DB table {table}": "".join(text) for table, text in rows.items()},
    }
    hits = {where: found for where, text in artifacts.items() if (found := leaks(text))}
    figures(
        lost=0,
        duplicates=0,
        hits=len(hits),
        searched={"log characters": len(logs), "files": len(files), "db rows": sum(map(len, rows.values()))},
        checked="key searched in logs, AIRFLOW_HOME files, every DB row, trigger kwargs, emulator request log",
    )
    assert hits == {}
    # The search was not vacuous: the error paths ran and left their traces where we looked.
    assert "HTTP 401 UNAUTHORIZED" in logs
    assert "2 of 120 items did not succeed" in logs
    assert len(serialized) >= 2
    assert any(run.run_id in row for row in rows["xcom"])
    assert any(run.run_id in row for row in rows["rendered_task_instance_fields"])
    assert all(r["headers"].get("authorization") == "REDACTED" for r in requests_log)
    assert len(requests_log) > 20


def test_a_redirect_to_another_host_is_not_followed_and_carries_no_key(figures: Any) -> None:
    with loopback() as runflow, loopback() as elsewhere:
        runflow.answer.status, runflow.answer.headers = 302, {"Location": f"{elsewhere.url}/v1/batches/b1"}
        config = ClientConfig(api_key=SECRET, base_url=runflow.url)

        with RunflowClient(config) as client, pytest.raises(RunflowResponseError, match="HTTP 302") as sync_error:
            client.send(calls.get_batch("b1"))

        async def through_the_triggers_transport() -> None:
            async with AsyncRunflowClient(config, transport=async_transport(config)) as client:
                await client.send(calls.get_batch("b1"))

        with pytest.raises(RunflowResponseError, match="HTTP 302") as async_error:
            asyncio.run(through_the_triggers_transport())

    figures(lost=0, duplicates=0, checked="302 to another port: typed error (sync, aiohttp); 2nd host saw nothing")
    assert elsewhere.requests == []
    sent = [{name.lower(): value for name, value in headers.items()} for _, _, headers in runflow.requests]
    assert [headers["authorization"] for headers in sent] == [f"Bearer {SECRET}"] * 2
    assert not leaks(str(sync_error.value) + str(async_error.value))


@pytest.mark.parametrize(
    "extra",
    [{"verify": False}, {"verify": "false"}, {"verify_ssl": False}, {"insecure": True}, {"extra__runflow__verify": 0}],
)
def test_no_connection_extra_switches_tls_verification_off(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], figures: Any
) -> None:
    connection = {"conn_type": "runflow", "host": "https://api.runflow.io", "password": SECRET, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", json.dumps(connection))

    figures(lost=0, duplicates=0, checked=f"extra {extra}: the hook's client still verifies TLS")
    assert RunflowHook().client_config.verify is True
    assert config_from_connection("c", "api.runflow.io", None, None, SECRET, extra).verify is True
    with pytest.raises(ValueError, match="TLS verification cannot be disabled"):
        ClientConfig(api_key=SECRET, verify=False)
