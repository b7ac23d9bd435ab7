"""Readers that stop reading: streams of a large stored video opened over raw sockets, read up to the headers."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from security.attacks import plant

VIDEO_BYTES = 64 * 1024 * 1024
READERS = 20
"""More than Airflow's default DB pool holds (5 + 10 overflow)."""


def plant_video_and_fifo(client: httpx.Client, admin: dict[str, str], ti: dict[str, Any], root: Path) -> None:
    """Item 0 of ``ti``: a 64 MiB video (sparse: no disk); item 1: a FIFO; both in its own folder under ``root``."""
    from airflow_provider_runflow.media.layout import MediaScope

    folder = root / MediaScope(ti["dag_id"], ti["run_id"], ti["task_id"], ti["map_index"]).folder()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "video.mp4").open("wb") as video:
        video.truncate(VIDEO_BYTES)
    os.mkfifo(folder / "pipe.mp4")
    entries = [
        {"index": i, "status": "succeeded", "media": [{"path": (folder / name).as_uri(), "content_type": "video/mp4"}]}
        for i, name in enumerate(("video.mp4", "pipe.mp4"))
    ]
    plant(client, admin, ti, {"return_value": entries})


def media_path(ti: dict[str, Any], item: int) -> str:
    return "/runflow-outputs/media?" + urlencode({**ti, "item": item, "media": 0})


def open_stream(address: tuple[str, int], path: str, jwt: str) -> tuple[socket.socket, int]:
    """A GET whose answer is read up to its headers, and no further: a reader that stopped reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(15)
    sock.connect(address)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {jwt}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    return sock, int(head.split(b" ", 2)[1])
