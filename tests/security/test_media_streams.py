"""Stored media streamed by a real server (uvicorn, as the api-server runs it) to readers that do not read.

A viewer decides how fast a stream goes. These tests open streams of a 64 MiB stored video over
sockets that read nothing past the headers, and check that the api-server stays available (its
DB pool is not held by streams), that a FIFO under a root answers at once, and that the limits
per user and in time hold.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from security.conftest import Surfaces
from security.streams import READERS, VIDEO_BYTES, media_path, open_stream, plant_video_and_fifo

pytestmark = pytest.mark.airflow_db


@pytest.fixture(scope="module")
def server(surfaces: Surfaces) -> Iterator[tuple[str, int]]:
    """Airflow's API app served by uvicorn on a loopback port, in a thread of this process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = uvicorn.Server(
        uvicorn.Config(surfaces.app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started
    yield "127.0.0.1", port
    served.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def stored(surfaces: Surfaces) -> dict[str, Any]:
    """A task instance whose item 0 is a 64 MiB video and item 1 a FIFO, both in its own folder."""
    ti = {**surfaces.outputs.tis["media_paths"], "map_index": 23}
    admin = {"Authorization": f"Bearer {surfaces.token('attacker', 'admin')}"}
    plant_video_and_fifo(TestClient(surfaces.app), admin, ti, surfaces.root)
    return ti


def test_readers_that_stop_reading_leave_the_api_server_available(
    surfaces: Surfaces, server: tuple[str, int], stored: dict[str, Any]
) -> None:
    with ExitStack() as readers:
        for n in range(READERS):  # one user each: the per-user limit is not what is tested here
            sock, status = open_stream(server, media_path(stored, 0), surfaces.token(f"slow-{n}"))
            readers.callback(sock.close)
            assert status == 200
        base = f"http://{server[0]}:{server[1]}"
        viewer = {"Authorization": f"Bearer {surfaces.token('viewer')}"}

        health = httpx.get(f"{base}/api/v2/monitor/health", timeout=10)
        dags = httpx.get(f"{base}/api/v2/dags", headers=viewer, timeout=10)

    assert (health.status_code, health.json()["metadatabase"]["status"]) == (200, "healthy")
    assert dags.status_code == 200


def test_a_fifo_under_a_root_answers_at_once(
    surfaces: Surfaces, server: tuple[str, int], stored: dict[str, Any]
) -> None:
    viewer = {"Authorization": f"Bearer {surfaces.token('viewer')}"}

    response = httpx.get(f"http://{server[0]}:{server[1]}{media_path(stored, 1)}", headers=viewer, timeout=10)

    assert (response.status_code, response.json()) == (404, {"detail": "The stored media is not a file"})


def test_a_user_streams_at_most_the_configured_number_at_once(
    surfaces: Surfaces, server: tuple[str, int], stored: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__UI_MEDIA_STREAMS_PER_USER", "2")
    jwt, url = surfaces.token("greedy"), f"http://{server[0]}:{server[1]}{media_path(stored, 0)}"
    first, _ = open_stream(server, media_path(stored, 0), jwt)
    second, _ = open_stream(server, media_path(stored, 0), jwt)

    waited = time.monotonic()
    third = httpx.get(url, headers={"Authorization": f"Bearer {jwt}"}, timeout=15)
    waited = time.monotonic() - waited
    first.close()  # the server notices, ends that stream and gives its slot back
    fourth, status = open_stream(server, media_path(stored, 0), jwt)
    second.close()
    fourth.close()

    assert (third.status_code, third.headers["retry-after"]) == (429, "5")
    assert "ui_media_streams_per_user" in third.json()["detail"]
    assert 4.5 < waited < 10  # queued for a slot first
    assert status == 200


def test_a_stream_is_cut_after_the_configured_time(
    surfaces: Surfaces, server: tuple[str, int], stored: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__UI_MEDIA_STREAM_SECONDS", "2")
    sock, status = open_stream(server, media_path(stored, 0), surfaces.token("patient"))
    time.sleep(3)
    received, started = 0, time.monotonic()
    with sock:
        while chunk := sock.recv(1024 * 1024):
            received += len(chunk)

    assert status == 200
    assert received < VIDEO_BYTES  # the connection was closed: the browser sees an incomplete file
    assert time.monotonic() - started < 5
