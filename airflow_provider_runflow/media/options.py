"""How media are copied: what to copy, how many at once, limits, retries and what a failure does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_runflow.client.errors import RunflowError
from airflow_provider_runflow.media.addresses import AddressPolicy
from airflow_provider_runflow.media.layout import MEDIA_TYPES
from airflow_provider_runflow.media.select import MediaSelector

DEFAULT_CONCURRENCY = 8
"""Downloads at once: enough to hide per-request latency of presigned URLs without flooding the media host."""
DEFAULT_MAX_BYTES = 2 * 1024**3
"""2 GiB per file: above any image or short video Runflow returns, low enough to stop a runaway stream."""


@dataclass(frozen=True)
class MediaOptions:
    """Settings of media persistence.

    :param select: which URLs of ``output`` to copy (see :data:`MediaSelector`); default: every http(s) URL.
    :param concurrency: files downloaded at once (as many more may be finishing their writes to storage).
    :param max_bytes: size cap of one file; a larger one is refused (and not kept).
    :param attempts: tries per file for transient failures (5xx, 429, timeouts, connections reset mid-body).
    :param refreshes: times an expired URL (403/401/410) is replaced by a fresh one from the batch's items.
    :param timeout: seconds to connect and between two chunks of a body.
    :param file_timeout: seconds one file may take in all (its attempts, the waits between them and fresh
        URLs included); a file still coming then is not kept: a host trickling bytes cannot hold a download.
    :param content_types: Content-Types stored (exact, or ``kind/*``); any other response is refused.
    :param on_error: ``"fail"`` (default): the task fails after every item was tried, naming the items;
        ``"continue"``: the errors stay in each entry's ``media`` and are logged.
    :param allowed_networks: host names, addresses and CIDR networks media may be fetched from besides
        public addresses (loopback, private, link-local and metadata addresses are refused); ``None``:
        ``[runflow] media_allowed_networks`` of the worker. E.g. ``("10.20.0.0/16", "media.internal")``.
    """

    select: MediaSelector = None
    concurrency: int = DEFAULT_CONCURRENCY
    max_bytes: int = DEFAULT_MAX_BYTES
    attempts: int = 5
    refreshes: int = 2
    timeout: float = 60.0
    file_timeout: float = 600.0
    content_types: tuple[str, ...] = MEDIA_TYPES
    on_error: Literal["fail", "continue"] = "fail"
    allowed_networks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.attempts < 1 or self.refreshes < 0:
            raise ValueError("concurrency and attempts must be at least 1, refreshes at least 0")
        if self.max_bytes < 1 or self.timeout <= 0 or self.file_timeout <= 0:
            raise ValueError("max_bytes, timeout and file_timeout must be positive")
        if isinstance(self.allowed_networks, str):
            raise ValueError("allowed_networks must be a list of hosts or networks, not a single string")
        if self.allowed_networks is not None:
            AddressPolicy.parse(self.allowed_networks)  # a bad entry fails here, naming it
        if self.on_error not in ("fail", "continue"):
            raise ValueError(f"on_error must be 'fail' or 'continue', got {self.on_error!r}")
        if isinstance(self.select, str):
            raise ValueError("select must be a list of keys or paths, or a callable, not a single string")


class RunflowMediaError(RunflowError):
    """Some items' media could not be copied (``on_error="fail"``); the message names them."""


def failed_items(entries: list[dict[str, Any]]) -> list[str]:
    """One line per entry with a media error: its index, client_ref and first error."""
    lines = []
    for entry in entries:
        errors = [record["error"] for record in entry.get("media") or [] if record.get("error")]
        if errors:
            ref = f" ({entry.get('client_ref')})" if entry.get("client_ref") else ""
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            lines.append(f"item {entry.get('index')}{ref}: {errors[0]}{more}")
    return lines


def failure_message(failed: list[str], media_path: str) -> str | None:
    """The task's error when media could not be copied under ``on_error="fail"``, or None."""
    if not failed:
        return None
    shown = "; ".join(failed[:10]) + (f"; and {len(failed) - 10} more" if len(failed) > 10 else "")
    return (
        f"Media of {len(failed)} item(s) could not be copied to {media_path}: {shown}. "
        "Their results are kept (each entry's media lists the error); files already stored are not copied again "
        "on retry."
    )
