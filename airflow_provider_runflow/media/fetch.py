"""Copying one media URL into storage, chunk by chunk, hashing as it goes: the I/O shell of media persistence.

The media host gets a plain GET from a client of its own: no Runflow API key, no
``X-Organization-Id``; presigned URLs carry their own authorisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from airflow_provider_runflow.media.folder import Folder
from airflow_provider_runflow.media.layout import extension, is_allowed, media_type
from airflow_provider_runflow.media.options import MediaOptions

CHUNK = 1024 * 1024
UPLOAD_BLOCK = 8 * 1024 * 1024
"""Buffer of one upload part: s3fs would otherwise hold 50 MiB per file being written (5 MiB is S3's minimum)."""
_TRANSIENT_STATUS = {408, 425, 429}
_EXPIRED_STATUS = {401, 403, 410}


class MediaError(Exception):
    """A media file that could not be copied; its message never holds the URL's query (a signature)."""


class TransientMediaError(MediaError):
    """Worth another attempt: 5xx, 429, a timeout, a connection reset before the body was complete."""


class ExpiredMediaError(MediaError):
    """The media host refused the URL (403/401/410 or an 'expired' answer): a fresh URL may work."""


@dataclass(frozen=True)
class Stored:
    """A media file written to storage."""

    path: str
    content_type: str
    bytes: int
    sha256: str


def shown(url: str) -> str:
    """``url`` without its query: presigned signatures stay out of logs, XCom and errors."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def media_client(options: MediaOptions) -> httpx.Client:
    """The client for media hosts: no auth, no Runflow headers; redirects followed (http(s) only)."""
    return httpx.Client(
        timeout=httpx.Timeout(options.timeout),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency),
        headers={"User-Agent": "airflow-provider-runflow media"},
    )


def _refusal(response: httpx.Response, url: str) -> MediaError:
    """The error for a non-200 answer, read from at most the first 2 KiB of its body."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= 2048:
            break
    where = f"{shown(url)} answered {response.status_code}"
    if response.status_code in _EXPIRED_STATUS or b"xpired" in head[:2048]:
        return ExpiredMediaError(f"{where}: the URL has expired or is refused")
    if response.status_code in _TRANSIENT_STATUS or response.status_code >= 500:
        return TransientMediaError(where)
    return MediaError(where)


def _write(chunks: Any, folder: Folder, name: str, max_bytes: int) -> tuple[int, str]:
    """Stream ``chunks`` to ``folder/name``; return (bytes, sha256). A partial file is removed."""
    digest, size = hashlib.sha256(), 0
    try:
        with folder.fs.open(folder.at(name), "wb", block_size=UPLOAD_BLOCK) as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise MediaError(f"larger than the {max_bytes}-byte cap; not kept")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        folder.remove(name)
        raise
    return size, digest.hexdigest()


def copy_once(http: httpx.Client, url: str, folder: Folder, stem: str, options: MediaOptions) -> Stored:
    """One attempt at copying ``url`` to ``folder/{stem}.{ext}`` (the extension from the Content-Type)."""
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise _refusal(response, url)
            declared = response.headers.get("content-type", "")
            if not is_allowed(declared, options.content_types):
                raise MediaError(f"{shown(url)} answered Content-Type {declared or 'none'!r}, not a media type")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > options.max_bytes:
                raise MediaError(f"{shown(url)} is {length} bytes, above the {options.max_bytes}-byte cap")
            name = f"{stem}.{extension(declared)}"
            size, sha256 = _write(response.iter_bytes(), folder, name, options.max_bytes)
    except httpx.TimeoutException as err:
        raise TransientMediaError(f"{shown(url)} timed out ({type(err).__name__})") from None
    except (httpx.RemoteProtocolError, httpx.NetworkError) as err:
        raise TransientMediaError(f"{shown(url)}: connection failed ({type(err).__name__}: {err})") from None
    except httpx.HTTPError as err:
        raise MediaError(f"{shown(url)}: {type(err).__name__}: {err}") from None
    return Stored(folder.uri_of(name), media_type(declared), size, sha256)


def copy_with_retries(http: httpx.Client, url: str, folder: Folder, stem: str, options: MediaOptions) -> Stored:
    """:func:`copy_once`, retried with exponential backoff and jitter on transient failures only."""
    retrying = Retrying(
        retry=retry_if_exception_type(TransientMediaError),
        stop=stop_after_attempt(options.attempts),
        wait=wait_exponential(multiplier=0.25, max=8) + wait_random(0, 0.25),
        reraise=True,
    )
    result: Stored = retrying(copy_once, http, url, folder, stem, options)
    return result
