"""Settings shared by the sync and async Runflow clients."""

from __future__ import annotations

import functools
import os
import ssl
from dataclasses import dataclass, field

import httpx

from airflow_provider_runflow import __version__
from airflow_provider_runflow.client.retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.runflow.io"


def normalize_base_url(url: str | None) -> str:
    """A base URL from a full URL or a bare host (meaning https); the default when empty."""
    url = (url or "").strip().rstrip("/")
    if not url:
        return DEFAULT_BASE_URL
    return url if "://" in url else f"https://{url}"


def _build_ssl_context(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, str):  # a CA bundle file, or a directory of certificates
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context()  # certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR


@functools.cache
def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for a ``verify`` setting, built once per process and shared by every client.

    Building one reads the CA bundle (~25 ms of CPU): the triggerer builds it off its event
    loop (``triggers/client_pool.py``), and later clients reuse it.
    """
    return _build_ssl_context(verify)


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to reach Runflow. The API key is kept out of ``repr``.

    :param verify: TLS verification: True (default), or a CA bundle path. It cannot be
        switched off here: a man in the middle would read the API key.
    :param max_requests_per_second: the most requests all clients of these settings in one process
        start per second (see :mod:`~airflow_provider_runflow.client.rate_gate`); ``None`` for no cap.
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization_id: str | None = None
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    max_requests_per_second: float | None = None

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("A Runflow API key is required")
        if self.verify is False:
            raise ValueError("TLS verification cannot be disabled; pass a CA bundle path instead")
        if self.max_requests_per_second is not None and not self.max_requests_per_second > 0:
            raise ValueError(f"max_requests_per_second must be > 0, got {self.max_requests_per_second}")
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))

    def headers(self) -> dict[str, str]:
        """Headers sent on every request."""
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"airflow-provider-runflow/{__version__}",
        }
        if self.organization_id:
            headers["X-Organization-Id"] = self.organization_id
        return headers

    def http_options(self) -> dict[str, object]:
        """Keyword arguments for ``httpx.Client``/``httpx.AsyncClient`` (one connection pool per client).

        Redirects are not followed: Runflow does not redirect API calls, and
        following one could carry the Authorization header elsewhere.
        """
        return {
            "base_url": self.base_url,
            "headers": self.headers(),
            "timeout": httpx.Timeout(self.timeout),
            "verify": ssl_context(self.verify),
            "follow_redirects": False,
        }
