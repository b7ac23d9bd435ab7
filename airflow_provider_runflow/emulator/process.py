"""``RunflowEmulator``: the emulator in a subprocess (never sharing the GIL with the code under test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from airflow_provider_runflow.emulator.faults import FaultRule
from airflow_provider_runflow.emulator.server import MEDIA_PREFIX, READY_PREFIX, connection_json
from airflow_provider_runflow.emulator.settings import (
    DEFAULT_SERVICE_KEY,
    DEFAULT_WEBHOOK_SECRET,
    ApiKeys,
    EmulatorSettings,
    RunSeconds,
)


class RunflowEmulator:
    """A Runflow emulator on a free loopback port, for as long as the ``with`` block lasts.

    ``run_seconds`` is an item's run time (fixed, or ``(min, max)`` drawn from ``seed``);
    ``time_scale`` multiplies every emulated duration; ``latency`` adds real seconds before
    every Runflow response. ``api_keys`` maps inference keys to organisation names (or lists).
    Generated media are served at :attr:`media_url` (another port): URLs expire ``media_url_ttl``
    seconds after an output was read; ``media_faults`` are fault rules (route ``"*"``) of that origin.
    """

    def __init__(
        self,
        seed: int = 0,
        time_scale: float = 1.0,
        run_seconds: RunSeconds = (0.2, 0.5),
        latency: float = 0.0,
        api_keys: ApiKeys | None = None,
        *,
        service_key: str = DEFAULT_SERVICE_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        queue_seconds: float = 0.05,
        faults: Sequence[FaultRule] = (),
        media_url_ttl: float = 3600.0,
        media_video_bytes: int = 256 * 1024,
        media_faults: Sequence[FaultRule] = (),
        prices: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.settings = EmulatorSettings.build(
            api_keys,
            seed=seed,
            time_scale=time_scale,
            run_seconds=run_seconds,
            queue_seconds=queue_seconds,
            latency=latency,
            service_keys=(service_key,),
            webhook_secret=webhook_secret,
            faults=tuple(faults),
            media_url_ttl=media_url_ttl,
            media_video_bytes=media_video_bytes,
            media_faults=tuple(media_faults),
            prices=dict(prices or {}),
        )
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._control: httpx.Client | None = None
        self.url = ""
        self.media_url = ""

    @property
    def api_key(self) -> str:
        """The first inference key (``rf_live_emulator`` unless ``api_keys`` says otherwise)."""
        return next(iter(self.settings.api_keys))

    @property
    def service_key(self) -> str:
        return self.settings.service_keys[0]

    @property
    def webhook_secret(self) -> str:
        return self.settings.webhook_secret

    @property
    def api_keys(self) -> dict[str, tuple[str, ...]]:
        """Every inference key with the organisation ids it may act for (its default first)."""
        return dict(self.settings.api_keys)

    def organization_id(self, api_key: str | None = None) -> str:
        """The default organisation id of ``api_key`` (of :attr:`api_key` when None)."""
        return self.settings.api_keys[api_key or self.api_key][0]

    def connection_json(self, api_key: str | None = None) -> str:
        """JSON for ``AIRFLOW_CONN_<ID>``: ``{"conn_type": "runflow", "host": url, "password": key}``."""
        return connection_json(self.url, api_key or self.api_key)

    def __enter__(self) -> RunflowEmulator:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start the subprocess and wait until it answers ``GET /v1/health``."""
        command = [sys.executable, "-m", "airflow_provider_runflow.emulator", "--port", "0"]
        command += ["--config", self.settings.to_json()]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        self.url, self.media_url = self._read_urls(self._process)
        self._control = httpx.Client(base_url=self.url, timeout=30.0)
        self._wait_healthy()

    def _read_urls(self, process: subprocess.Popen[str]) -> tuple[str, str]:
        found: list[str] = []
        media: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith(MEDIA_PREFIX) and not media:
                    media.append(line[len(MEDIA_PREFIX) :].strip())
                if line.startswith(READY_PREFIX) and not found:
                    found.append(line[len(READY_PREFIX) :].strip())
            # Keep draining so the child never blocks on a full pipe.

        threading.Thread(target=read, name="runflow-emulator-stdout", daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        while not (found and media):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Runflow emulator did not start (exit code {process.returncode})")
            time.sleep(0.02)
        return found[0], media[0]

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if self._client().get("/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Runflow emulator at {self.url} never became healthy")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _client(self) -> httpx.Client:
        if self._control is None:
            raise RuntimeError("the Runflow emulator is not running; use it as a context manager")
        return self._control

    def _call(self, method: str, path: str, json: Any = None, prefix: str = "/_emulator") -> Any:
        response = self._client().request(method, f"{prefix}/{path}", json=json)
        response.raise_for_status()
        return response.json()

    def set_faults(self, rules: Iterable[FaultRule]) -> None:
        """Replace every fault rule (their counters and random source start afresh)."""
        self._call("PUT", "faults", [rule.to_json() for rule in rules])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def counters(self) -> dict[str, Any]:
        """``{"batches_created", "items_created", "batches", "callback_attempts", "requests": {route: {status: n}}}``.

        ``items_created`` counts the items of created batches: what Runflow would bill.
        """
        result: dict[str, Any] = self._call("GET", "counters")
        return result

    def reset(self) -> None:
        """Forget every batch, callback delivery, counter, logged request and fault rule (media ones too)."""
        self._call("POST", "reset")
        self._media("POST", "reset")

    def force_batch_status(
        self, batch_id: str, status: str, failure_code: str | None = None, failure_message: str | None = None
    ) -> None:
        """Make ``GET /v1/batches/{id}`` report ``status`` (any string) from now on."""
        body = {"status": status, "failure_code": failure_code, "failure_message": failure_message}
        self._call("POST", f"batches/{batch_id}/status", body)

    def requests_log(self) -> list[dict[str, Any]]:
        """Recent Runflow requests (method, path, route, query, status, headers with Authorization redacted)."""
        result: list[dict[str, Any]] = self._call("GET", "requests")
        return result

    def _media(self, method: str, path: str, json: Any = None) -> Any:
        return self._call(method, path, json, prefix=f"{self.media_url}/_media")

    def set_media_faults(self, rules: Iterable[FaultRule]) -> None:
        """Replace the media origin's fault rules (route ``"*"``): 5xx, 429, drops mid-body, stalls."""
        self._media("PUT", "faults", [rule.to_json() for rule in rules])

    def media_requests(self) -> list[dict[str, Any]]:
        """Requests to the media origin (method, path, status, every header exactly as received)."""
        result: list[dict[str, Any]] = self._media("GET", "requests")
        return result
