"""The attack tables of ``attacks.py`` against Airflow's real ``create_app()``: every attack refused or handled.

Starlette's TestClient answers a server error as a 500 (``raise_server_exceptions=False``), as a
running api-server would: a row fails on any 5xx, on a status it does not expect, on a secret
in the answer, and on an answer slower than ``TIMEOUT`` (a FIFO opened for reading never answers).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from security.attacks import (
    CALLBACK_ATTACKS,
    OUTPUTS_ATTACKS,
    Attack,
    CallbackAttack,
    assert_handled,
    send,
    send_callback,
)
from security.conftest import WEBHOOK_SECRET, Surfaces

pytestmark = pytest.mark.airflow_db


@pytest.mark.parametrize("attack", OUTPUTS_ATTACKS, ids=lambda attack: attack.name)
def test_the_outputs_app_refuses_or_handles(surfaces: Surfaces, attack: Attack) -> None:
    client = TestClient(surfaces.app, raise_server_exceptions=False)

    response = send(client, surfaces.outputs, attack)

    assert_handled(response, attack, ("hunter2", WEBHOOK_SECRET))


@pytest.mark.parametrize("attack", CALLBACK_ATTACKS, ids=lambda attack: attack.name)
@pytest.mark.parametrize("url", ["/runflow-callbacks/{conn_id}", "/runflow-outputs/callbacks/{conn_id}"])
def test_the_callback_receiver_refuses_or_handles(surfaces: Surfaces, attack: CallbackAttack, url: str) -> None:
    from dataclasses import replace

    client = TestClient(surfaces.app, raise_server_exceptions=False)

    response = send_callback(client, replace(surfaces.receiver, url=url), attack)

    assert_handled(response, attack, (WEBHOOK_SECRET,))
