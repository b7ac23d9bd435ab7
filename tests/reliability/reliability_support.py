"""Helpers of the reliability suite: its DAGs, emulator connections, expected outputs and figures."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

from airflow.sdk import DAG

from airflow_provider_runflow.client import ClientConfig, RetryPolicy, RunflowClient
from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.catalog import CATALOG

CREATE = "POST /v1/models/{owner}/{slug}/batches"
GET_BATCH = "GET /v1/batches/{id}"
LIST_ITEMS = "GET /v1/batches/{batch_id}/items"


def quick_backoff(max_attempts: int = 5) -> RetryPolicy:
    """The retry policy a connection asks for, with short backoffs (timing is pinned by tests/client/test_retry*.py).

    Installed in place of the hook's ``RetryPolicy`` so that a fault matrix of ~20 runs fits in minutes;
    which errors are retried, how often, and ``Retry-After`` are untouched.
    """
    return RetryPolicy(max_attempts=max_attempts, initial_backoff=0.05, max_backoff=0.2, jitter=0.05)


def reliability_dags() -> ModuleType:
    """``tests/dags/runflow_reliability.py``, importable once the ``airflow_db`` fixture set up the dags folder."""
    return importlib.import_module("runflow_reliability")


def reliability_dag(dag_id: str) -> DAG:
    """A DAG of ``tests/dags/runflow_reliability.py`` by id."""
    dags: dict[str, DAG] = reliability_dags().DAGS
    return dags[dag_id]


def connection_json(emu: RunflowEmulator, api_key: str | None = None, **extra: Any) -> str:
    """``AIRFLOW_CONN_*`` JSON for the emulator, with connection extras such as ``timeout`` and ``max_retries``."""
    return json.dumps(
        {"conn_type": "runflow", "host": emu.url, "password": api_key or emu.api_key, "extra": json.dumps(extra)}
    )


@contextmanager
def client_of(emu: RunflowEmulator, **config: Any) -> Iterator[RunflowClient]:
    with RunflowClient(ClientConfig(api_key=emu.api_key, base_url=emu.url, **config)) as client:
        yield client


def expected_entries(inputs: list[dict[str, Any]]) -> list[tuple[int, str | None, str, Any]]:
    """``(index, client_ref, status, output)`` per input, from the emulator model's deterministic outputs.

    Runflow strips ``client_ref`` before the model sees an item; so does this.
    """
    model = CATALOG["acme/test-model"]
    rows = []
    for index, item in enumerate(inputs):
        body = {k: v for k, v in item.items() if k != "client_ref"}
        result = model.run(body)
        rows.append((index, item.get("client_ref"), "failed" if result.error else "succeeded", result.output))
    return rows


def comparable(entries: list[dict[str, Any]]) -> list[tuple[int, str | None, str, Any]]:
    return [(e["index"], e["client_ref"], e["status"], e["output"]) for e in entries]


def lost_and_duplicated(entries: list[dict[str, Any]], expected_count: int) -> tuple[int, int]:
    """Inputs with no entry, and entries beyond one per input."""
    indexes = [e["index"] for e in entries]
    return expected_count - len(set(indexes) & set(range(expected_count))), len(indexes) - len(set(indexes))


@dataclass
class Answer:
    """One scripted HTTP answer of a :class:`Loopback` server."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Loopback:
    """A threaded HTTP server on a free loopback port answering every request with ``answer``.

    Records each request as ``(method, path, headers)``: the test sees exactly what was sent.
    """

    answer: Answer = field(default_factory=Answer)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def json(self, status: int, body: Any, **headers: str) -> None:
        self.answer = Answer(status, json.dumps(body).encode(), headers=headers)


@contextmanager
def loopback() -> Iterator[Loopback]:
    script = Loopback()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            script.requests.append((self.command, self.path, dict(self.headers.items())))
            answer = script.answer
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


class WorkerDied(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (not an Exception, so nothing catches it)."""


@dataclass
class TaskInstanceStub:
    """The task instance fields the operator reads; ``die_on_push`` makes the first XCom push kill the worker."""

    dag_id: str = "reliability"
    task_id: str = "run"
    run_id: str = "manual__crash"
    map_index: int = -1
    die_on_push: bool = False
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value
        if self.die_on_push:
            raise WorkerDied

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value") -> Any:
        """What this task instance pushed: between retry rounds the operator reads its ``batch_ids`` back."""
        return self.pushed.get(key)
