"""RunflowHook: turns an Airflow connection into Runflow clients, and waits for batches from a worker."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_runflow.batching.pacing import PollInterval
from airflow_provider_runflow.batching.tracker import BatchEvent, BatchTracker
from airflow_provider_runflow.client import (
    CallbackDelivery,
    ClientConfig,
    RetryPolicy,
    RunflowAPIError,
    RunflowClient,
    RunflowError,
    RunflowNotFoundError,
    calls,
)
from airflow_provider_runflow.client.config import normalize_base_url


def _extra(extra: Mapping[str, Any], name: str) -> Any:
    """An extra field, also under the ``extra__runflow__`` prefix older connection forms used."""
    value = extra.get(name, extra.get(f"extra__runflow__{name}"))
    return None if value in ("", None) else value


def base_url_of(host: str | None, port: int | None, schema: str | None) -> str | None:
    """The API base URL from a connection: a full URL in ``host``, or a host with optional port and scheme.

    The URI form cannot carry a scheme in the host, so ``runflow://:KEY@127.0.0.1:8000/http``
    (``schema`` = ``http``) means ``http://127.0.0.1:8000``; a bare host means https.
    """
    if not host or not host.strip():
        return None
    host = host.strip()
    parts = urlsplit(normalize_base_url(host if "://" in host or not schema else f"{schema.strip().lower()}://{host}"))
    if port and parts.port is None:
        parts = parts._replace(netloc=f"{parts.netloc}:{port}")
    return urlunsplit(parts)


def callback_secrets_of(extra: Mapping[str, Any]) -> tuple[str, ...]:
    """The webhook secrets (``whsec_...``) of the ``callback_secrets`` extra: a list, or one string
    separated by commas or whitespace; two during a rotation. Never logged."""
    value = _extra(extra, "callback_secrets")
    parts = value if isinstance(value, list) else str(value or "").replace(",", " ").split()
    return tuple(part.strip() for part in parts if isinstance(part, str) and part.strip())


def config_from_connection(
    conn_id: str, host: str | None, port: int | None, schema: str | None, password: str | None, extra: Mapping[str, Any]
) -> ClientConfig:
    """Client settings from a connection's fields; the API key is the connection's password."""
    if not password:
        raise ValueError(f"Connection {conn_id!r} has no API key: set it in the connection's password field")
    names = ("timeout", "max_retries", "max_requests_per_second")
    timeout, max_retries, max_rps = (_extra(extra, name) for name in names)
    retry = RetryPolicy() if max_retries is None else RetryPolicy(max_attempts=int(max_retries) + 1)
    return ClientConfig(
        api_key=password,
        base_url=base_url_of(host, port, schema) or "",
        organization_id=_extra(extra, "organization_id"),
        timeout=30.0 if timeout is None else float(timeout),
        retry=retry,
        max_requests_per_second=None if max_rps is None else float(max_rps),
    )


class RunflowHook(BaseHook):
    """Interact with Runflow's batch API through a ``runflow`` connection.

    The connection holds the API base URL in ``host`` (default ``https://api.runflow.io``)
    and the API key in ``password``; its extras may set ``organization_id``,
    ``timeout`` (seconds), ``max_retries``, ``max_requests_per_second`` (a cap shared by every
    task and trigger of the connection in one process), ``dashboard_url`` (for extra links) and
    ``callback_secrets`` (the webhook secrets Airflow's callback receiver verifies with).

    :param runflow_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "runflow_conn_id"
    default_conn_name = "runflow_default"
    conn_type = "runflow"
    hook_name = "Runflow"

    def __init__(self, runflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.runflow_conn_id = runflow_conn_id

    @cached_property
    def client_config(self) -> ClientConfig:
        """Settings from the connection, looked up synchronously (not for event loops)."""
        conn = self.get_connection(self.runflow_conn_id)
        if conn.password:
            mask_secret(conn.password)
        return config_from_connection(
            self.runflow_conn_id, conn.host, conn.port, conn.schema, conn.password, conn.extra_dejson
        )

    async def aclient_config(self) -> ClientConfig:
        """Settings from the connection, looked up without blocking the event loop."""
        # No mask_secret here: fetching the connection already masks its password, and the
        # synchronous call to the supervisor can deadlock an event loop before Airflow 3.3.2.
        conn = await get_async_connection(self.runflow_conn_id, hook=self)
        extra = await get_async_extra_dejson(conn)
        return config_from_connection(self.runflow_conn_id, conn.host, conn.port, conn.schema, conn.password, extra)

    def get_conn(self) -> RunflowClient:
        """A new sync client; close it (or use it as a context manager) when done."""
        return RunflowClient(self.client_config)

    def get_batch_callback(self, batch_id: str) -> list[CallbackDelivery]:
        """Callback delivery history of a batch, with every attempt."""
        with self.get_conn() as client:
            return client.send(calls.get_batch_callback(batch_id))

    def redeliver_batch_callback(self, batch_id: str) -> Any:
        """Ask Runflow to deliver a terminal batch's callback again."""
        with self.get_conn() as client:
            return client.send(calls.redeliver_batch_callback(batch_id))

    def wait(self, tracker: BatchTracker, poll_interval: PollInterval, until: float = math.inf) -> BatchEvent | None:
        """Poll until the wait is over, from a worker: the blocking twin of the trigger, same tracker.

        ``until`` (epoch seconds) ends it early, with None, when the next poll would come later:
        a deferrable task looks on the worker first and hands what is left to the triggerer.
        """
        with self.get_conn() as client:
            while (event := self.poll(client, tracker)) is None:
                pause = tracker.pause(time.time(), poll_interval)
                if time.time() + pause > until:
                    return None
                time.sleep(pause)
        return event

    def poll(self, client: RunflowClient, tracker: BatchTracker) -> BatchEvent | None:
        """One round: every pending batch polled once, progress logged; the final event once the wait is over."""
        for batch_id in tracker.pending():
            client.send(tracker.poll(batch_id))
        line, event = tracker.round_over(time.time())
        if line:
            self.log.info(line)
        return event

    @cached_property
    def dashboard_url(self) -> str | None:
        """Base URL of the Runflow dashboard for extra links, from the connection's extras."""
        url = _extra(self.get_connection(self.runflow_conn_id).extra_dejson, "dashboard_url")
        return None if url is None else str(url)

    def test_connection(self) -> tuple[bool, str]:
        """Check that Runflow accepts the key, with one read that cannot create or bill anything.

        The probe asks for a batch that cannot exist: Runflow's 404 error envelope proves the
        key was accepted; a 404 without it means the base URL is not Runflow's API.
        """
        try:
            config = replace(self.client_config, retry=RetryPolicy(max_attempts=1))
            with RunflowClient(config) as client:
                client.send(calls.get_batch(str(uuid.UUID(int=0))))
        except RunflowNotFoundError as err:
            if not err.code:
                return False, f"{config.base_url} answered 404 without Runflow's error envelope: is it Runflow's API?"
            return True, f"Connected to Runflow at {config.base_url}: the API key was accepted."
        except RunflowAPIError as err:
            hint = {401: "the API key was rejected", 403: f"the API key lacks permission ({err.code})"}
            return False, f"Runflow refused the connection: {hint.get(err.status, err)}."
        except (RunflowError, ValueError) as err:
            return False, f"Could not reach Runflow: {err}"
        return True, f"Connected to Runflow at {config.base_url}: the API key was accepted."
