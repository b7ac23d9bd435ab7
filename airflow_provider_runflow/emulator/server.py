"""Serve the emulator's ASGI app with uvicorn on a socket bound before start-up (port 0 picks a free port)."""

from __future__ import annotations

import json
import logging
import resource
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from airflow_provider_runflow.emulator.settings import EmulatorSettings

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from airflow_provider_runflow.emulator.media_origin import Origins

READY_PREFIX = "Runflow emulator running at "
"""First line printed once the socket listens; :class:`RunflowEmulator` reads the URL from it."""
MEDIA_PREFIX = "Media origin at "
"""Printed after the ready lines: where generated media are served (a separate origin, its own port)."""
BACKLOG = 4096


def connection_json(url: str, api_key: str) -> str:
    """An Airflow connection, as JSON for ``AIRFLOW_CONN_<ID>``, pointing at the emulator."""
    return json.dumps({"conn_type": "runflow", "host": url, "password": api_key})


class _IgnoreDeliberateDrops(logging.Filter):
    """Uvicorn logs an error for each response left incomplete; the drop faults do that on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _raise_open_files_limit() -> None:
    """Thousands of concurrent pollers need as many sockets: lift the soft open-files limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _url(host: str, sock: socket.socket) -> str:
    bound = sock.getsockname()[1]
    return f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"


def _with_media(app: ASGIApp, settings: EmulatorSettings, host: str, media_port: int) -> tuple[Origins, socket.socket]:
    """``app`` behind a port switch that sends the media socket's requests to the media origin."""
    from airflow_provider_runflow.emulator.media import SIGNER
    from airflow_provider_runflow.emulator.media_origin import MediaOrigin, Origins

    sock = bind(host, media_port)
    SIGNER.base_url = _url(host, sock)
    SIGNER.ttl, SIGNER.video_bytes = settings.media_url_ttl, settings.media_video_bytes
    SIGNER.secret = f"media:{settings.webhook_secret}:{settings.seed}".encode()
    return Origins(app, MediaOrigin(settings), sock.getsockname()[1]), sock


def serve(
    settings: EmulatorSettings, host: str, port: int, announce: Callable[[str], None], media_port: int = 0
) -> None:
    """Serve until SIGINT or SIGTERM; ``announce`` gets the base URL once the socket listens."""
    import uvicorn  # deferred: importing the emulator package must stay cheap

    from airflow_provider_runflow.emulator.app import build_app

    _raise_open_files_limit()
    sock = bind(host, port)
    url = _url(host, sock)
    routed, media_sock = _with_media(build_app(settings, url), settings, host, media_port)
    config = uvicorn.Config(
        routed,
        loop="auto",
        http="auto",
        lifespan="on",
        access_log=False,
        log_level="warning",
        backlog=BACKLOG,
        timeout_graceful_shutdown=3,
    )
    logging.getLogger("uvicorn.error").addFilter(_IgnoreDeliberateDrops())
    # Uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # it found installed: make that handler a plain exit, so a requested stop exits with status 0.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_cleanly)
    announce(url)
    print(f"{MEDIA_PREFIX}{_url(host, media_sock)}", flush=True)
    uvicorn.Server(config).run(sockets=[sock, media_sock])


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
