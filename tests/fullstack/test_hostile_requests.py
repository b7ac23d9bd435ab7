"""The attack tables of ``tests/security`` against a running api-server, with users who log in.

The stack's own api-server admits everyone as admin, so a second api-server on the same DB
runs with a user list (an admin who plants hostile records through the REST API, a viewer,
and twenty readers). Every outputs attack and every callback attack, at both receiver URLs,
goes over HTTP; then twenty readers hold streams of a 64 MiB video without reading, and the
api-server must stay available.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from airflow_stack import ROOT, AirflowStack, login
from security.attacks import (
    CALLBACK_ATTACKS,
    OUTPUTS_ATTACKS,
    TIMEOUT,
    Attack,
    CallbackAttack,
    OutputsTarget,
    Planted,
    ReceiverTarget,
    assert_handled,
    callers,
    hostile_task_instances,
    send,
    send_callback,
)
from security.streams import READERS, media_path, open_stream, plant_video_and_fifo

from airflow_provider_runflow.media.layout import MediaScope

pytestmark = pytest.mark.fullstack

PASSWORD = "hostile-suite-password"
WEBHOOK_SECRET = "whsec_stack_attacks_0123456789"
CONN_ID = "runflow_attacks"
"""A connection of its own: its batches asset (runflow://attacks.invalid/batches) schedules no DAG."""


@dataclass(frozen=True)
class Target:
    url: str
    outputs: OutputsTarget
    receiver: ReceiverTarget
    tokens: dict[str, str]
    video: dict[str, Any]


def finished(stack: AirflowStack, dag_id: str, conf: dict[str, Any] | None = None) -> str:
    run_id = stack.trigger_dag(dag_id, conf)
    assert stack.wait_for_run(dag_id, run_id, timeout=180) == "success", stack.report()
    return run_id


@pytest.fixture(scope="module")
def target(stack: AirflowStack) -> Iterator[Target]:
    """The login api-server, a task instance with stored media, and the hostile ones planted over HTTP."""
    for name in ("runflow_ui_scenarios.py", "runflow_scenarios.py"):
        shutil.copy(ROOT / "tests" / "dags" / name, stack.dags / name)
    for dag_id in ("rf_ui_recorded", "rf_ui_hostile"):
        parsed = f"/api/v2/dags/{dag_id}"
        stack.wait_for(lambda path=parsed: stack.api().get(path).status_code == 200, 120, f"{dag_id} parsed")
    root = stack.root / "example-output"
    legit = {"dag_id": "rf_ui_recorded", "task_id": "run", "map_index": -1}
    legit["run_id"] = finished(stack, "rf_ui_recorded", {"count": 2, "media_dir": str(root), "media_items": 2})
    hostile_run = finished(stack, "rf_ui_hostile")
    secret_file = stack.root / "outside-the-roots.cfg"
    secret_file.write_text("sql_alchemy_conn = postgresql://airflow:hunter2@db/airflow\n")
    other_file = (root / MediaScope("rf_ui_recorded", legit["run_id"], "run").folder() / "00000.png").as_uri()
    users = {"attacker": ("admin", PASSWORD), "viewer": ("viewer", PASSWORD)}
    users |= {f"reader{n}": ("viewer", PASSWORD) for n in range(READERS)}
    connection = {"conn_type": "runflow", "host": "https://attacks.invalid", "password": "rf_live_unused",
                  "extra": {"callback_secrets": WEBHOOK_SECRET}}  # fmt: skip
    config = {f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection)}
    with stack.api_server_with_users(users, **config) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        tokens = {name: login(url, name, PASSWORD) for name in users}
        admin = {"Authorization": f"Bearer {tokens['attacker']}"}
        hostile = hostile_task_instances(
            client, admin, hostile_run, root, lambda folder: Planted(folder, other_file, secret_file.as_uri())
        )
        video = {**hostile["media_paths"], "map_index": 23}
        plant_video_and_fifo(client, admin, video, root)
        outputs = OutputsTarget({"legit": legit, **hostile}, callers(tokens["viewer"]))
        receiver = ReceiverTarget("/runflow-callbacks/{conn_id}", CONN_ID, WEBHOOK_SECRET)
        yield Target(url, outputs, receiver, tokens, video)


@pytest.mark.parametrize("attack", OUTPUTS_ATTACKS, ids=lambda attack: attack.name)
def test_the_outputs_app_of_a_running_api_server_refuses_or_handles(target: Target, attack: Attack) -> None:
    with httpx.Client(base_url=target.url, timeout=TIMEOUT) as client:
        response = send(client, target.outputs, attack)

    assert_handled(response, attack, ("hunter2", WEBHOOK_SECRET))


@pytest.mark.parametrize("attack", CALLBACK_ATTACKS, ids=lambda attack: attack.name)
@pytest.mark.parametrize("url", ["/runflow-callbacks/{conn_id}", "/runflow-outputs/callbacks/{conn_id}"])
def test_the_callback_receiver_of_a_running_api_server_refuses_or_handles(
    target: Target, attack: CallbackAttack, url: str
) -> None:
    with httpx.Client(base_url=target.url, timeout=TIMEOUT) as client:
        response = send_callback(client, replace(target.receiver, url=url), attack)

    assert_handled(response, attack, (WEBHOOK_SECRET,))


def test_readers_that_stop_reading_leave_the_running_api_server_available(target: Target) -> None:
    address = (urlsplit(target.url).hostname or "", urlsplit(target.url).port or 80)
    with ExitStack() as readers:
        for n in range(READERS):
            sock, status = open_stream(address, media_path(target.video, 0), target.tokens[f"reader{n}"])
            readers.callback(sock.close)
            assert status == 200
        fifo = httpx.get(f"{target.url}{media_path(target.video, 1)}", headers=_bearer(target, "viewer"), timeout=10)
        health = httpx.get(f"{target.url}/api/v2/monitor/health", timeout=10)
        dags = httpx.get(f"{target.url}/api/v2/dags", headers=_bearer(target, "viewer"), timeout=10)

    assert (fifo.status_code, fifo.json()) == (404, {"detail": "The stored media is not a file"})
    assert (health.status_code, health.json()["metadatabase"]["status"]) == (200, "healthy")
    assert dags.status_code == 200


def _bearer(target: Target, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.tokens[user]}"}
