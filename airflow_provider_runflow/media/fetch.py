"""Copying one media URL into storage, chunk by chunk, hashing as it goes: the I/O shell of media persistence.

The media host gets a plain GET from a client of its own: no Runflow API key, no
``X-Organization-Id``; presigned URLs carry their own authorisation. Downloads run on one
asyncio loop (aiohttp: a fraction of a thread-per-download client's CPU per file); storage
writes, which may block (s3fs uploads a part), run on I/O threads, 1 MiB at a time.

Only public addresses are fetched (:mod:`.addresses`): a host name is resolved once, by the
session's resolver, which keeps only allowed addresses, and the connection goes to one of those
(no second lookup to race); an address in the URL is checked as it is; so is every redirect.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random
from yarl import URL

from airflow_provider_runflow.media.addresses import AddressPolicy
from airflow_provider_runflow.media.folder import Folder
from airflow_provider_runflow.media.layout import extension, is_allowed, media_type
from airflow_provider_runflow.media.options import MediaOptions

CHUNK = 1024 * 1024
UPLOAD_BLOCK = 8 * 1024 * 1024
"""Buffer of one upload part: s3fs would otherwise hold 50 MiB per file being written (5 MiB is S3's minimum)."""
_TRANSIENT_STATUS = {408, 425, 429}
_EXPIRED_STATUS = {401, 403, 410}
_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
T = TypeVar("T")


class MediaError(Exception):
    """A media file that could not be copied; its message never holds the URL's query (a signature)."""


class TransientMediaError(MediaError):
    """Worth another attempt: 5xx, 429, a timeout, a connection reset before the body was complete."""


class ExpiredMediaError(MediaError):
    """The media host refused the URL (403/401/410 or an 'expired' answer): a fresh URL may work."""


class RefusedAddressError(OSError):
    """A host with no address media may be fetched from (raised by the resolver, so aiohttp wraps it)."""


def refused(url: str) -> MediaError:
    """The error of a URL not fetched for its address; it says nothing of what the address answered or is."""
    return MediaError(
        f"{shown(url)}: not fetched: it, or a URL it redirects to, has no public address "
        "([runflow] media_allowed_networks)"
    )


@dataclass(frozen=True)
class Stored:
    """A media file written to storage."""

    path: str
    content_type: str
    bytes: int
    sha256: str

    @property
    def name(self) -> str:
        """The file's name in its folder."""
        return self.path.rsplit("/", 1)[-1]


def shown(url: str) -> str:
    """``url`` without its query: presigned signatures stay out of logs, XCom and errors."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def on_io(io: Executor, function: Callable[..., T], *args: Any) -> T:
    """Run blocking storage work on the I/O threads, so the downloads on the loop keep flowing."""
    return await asyncio.get_running_loop().run_in_executor(io, function, *args)


class AllowedAddresses(AbstractResolver):
    """aiohttp's threaded resolver, keeping only the addresses ``policy`` allows (all of a host allowed by name)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy, self.resolver = policy, ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.resolver.resolve(host, port, family)
        if self.policy.allows_name(host):
            return found
        allowed = [result for result in found if self.policy.allows(result["host"])]
        if not allowed:
            raise RefusedAddressError(f"{host} has no public address")
        return allowed

    async def close(self) -> None:
        await self.resolver.close()


@dataclass(frozen=True)
class MediaSession:
    """The HTTP client for media hosts and the addresses it may fetch from."""

    http: aiohttp.ClientSession
    addresses: AddressPolicy

    def refuses(self, url: URL) -> bool:
        """Whether ``url`` names a refused address itself (a host name is checked when it is resolved)."""
        host = url.host or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return not (self.addresses.allows_name(host) or self.addresses.allows(address))


@contextlib.asynccontextmanager
async def media_session(options: MediaOptions, addresses: AddressPolicy) -> AsyncIterator[MediaSession]:
    """The client for media hosts: no auth, no Runflow headers, no ``~/.netrc`` (``trust_env=False``).

    Its pool's ``concurrency`` connections are what bound the downloads running at once."""
    resolver = AllowedAddresses(addresses)
    connector = aiohttp.TCPConnector(limit=options.concurrency, resolver=resolver)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=options.timeout, sock_read=options.timeout)
    headers = {"User-Agent": "airflow-provider-runflow media"}
    http = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers, trust_env=False)
    try:
        async with http:
            yield MediaSession(http, addresses)
    finally:
        await resolver.close()


@contextlib.asynccontextmanager
async def _followed(session: MediaSession, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """The answer to a GET of ``url`` after at most 5 redirects, each hop's address checked before connecting."""
    target = URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        if session.refuses(target):
            raise refused(url)
        async with session.http.get(target, allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                yield response
                return
        target = target.join(URL(location))
        if target.scheme not in ("http", "https"):
            raise MediaError(f"{shown(url)} redirects to a URL that is not http(s)")
    raise MediaError(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")


async def _refusal(response: aiohttp.ClientResponse, url: str) -> MediaError:
    """The error for a non-200 answer, read from at most the first 2 KiB of its body."""
    head = await response.content.read(2048)
    where = f"{shown(url)} answered {response.status}"
    if response.status in _EXPIRED_STATUS or b"xpired" in head:
        return ExpiredMediaError(f"{where}: the URL has expired or is refused")
    if response.status in _TRANSIENT_STATUS or response.status >= 500:
        return TransientMediaError(where)
    return MediaError(where)


class _Sink:
    """A file written on the I/O threads: opened with its first chunks, hashed as they are written."""

    def __init__(self, folder: Folder, name: str) -> None:
        self.folder, self.name, self.digest = folder, name, hashlib.sha256()
        self.out: Any = None

    def write(self, chunks: list[bytes], last: bool) -> None:
        if self.out is None:
            self.out = self.folder.fs.open(self.folder.at(self.name), "wb", block_size=UPLOAD_BLOCK)
        for chunk in chunks:
            self.digest.update(chunk)
            self.out.write(chunk)
        if last:
            self.out.close()

    def discard(self) -> None:
        try:
            if self.out is not None:
                self.out.close()
        finally:
            self.folder.remove(self.name)


async def _write(
    chunks: AsyncIterator[bytes], folder: Folder, name: str, max_bytes: int, io: Executor
) -> tuple[int, str]:
    """Stream ``chunks`` to ``folder/name``, handing the I/O threads 1 MiB at a time; return (bytes, sha256).

    A partial file is removed."""
    sink, pending, buffered, size = _Sink(folder, name), list[bytes](), 0, 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise MediaError(f"larger than the {max_bytes}-byte cap; not kept")
            pending.append(chunk)
            buffered += len(chunk)
            if buffered >= CHUNK:
                await on_io(io, sink.write, pending, False)
                pending, buffered = [], 0
        await on_io(io, sink.write, pending, True)
    except BaseException:
        await asyncio.shield(on_io(io, sink.discard))
        raise
    return size, sink.digest.hexdigest()


async def copy_once(
    session: MediaSession, url: str, folder: Folder, stem: str, options: MediaOptions, io: Executor
) -> Stored:
    """One attempt at copying ``url`` to ``folder/{stem}.{ext}`` (the extension from the Content-Type)."""
    try:
        async with _followed(session, url) as response:
            if response.status != 200:
                raise await _refusal(response, url)
            declared = response.headers.get("Content-Type", "")
            if not is_allowed(declared, options.content_types):
                raise MediaError(f"{shown(url)} answered Content-Type {declared or 'none'!r}, not a media type")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > options.max_bytes:
                raise MediaError(f"{shown(url)} is {length} bytes, above the {options.max_bytes}-byte cap")
            name = f"{stem}.{extension(declared)}"
            size, sha256 = await _write(response.content.iter_any(), folder, name, options.max_bytes, io)
    except TimeoutError as err:
        raise TransientMediaError(f"{shown(url)} timed out ({type(err).__name__})") from None
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as err:
        if isinstance(getattr(err, "os_error", None), RefusedAddressError):  # the resolver's refusal
            raise refused(url) from None
        raise TransientMediaError(f"{shown(url)}: connection failed ({type(err).__name__}: {err})") from None
    except aiohttp.ClientError as err:
        raise MediaError(f"{shown(url)}: {type(err).__name__}") from None
    return Stored(folder.uri_of(name), media_type(declared), size, sha256)


async def copy_with_retries(
    session: MediaSession, url: str, folder: Folder, stem: str, options: MediaOptions, io: Executor
) -> Stored:
    """:func:`copy_once`, retried with exponential backoff and jitter on transient failures only.

    The first attempt goes out bare: almost every file copies at once, and a tenacity controller
    per file cost about an eighth of a small image's copy time. tenacity decides from the first
    failure on.
    """
    try:
        return await copy_once(session, url, folder, stem, options, io)
    except TransientMediaError as error:
        failed: TransientMediaError | None = error
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TransientMediaError),
        stop=stop_after_attempt(options.attempts),
        wait=wait_exponential(multiplier=0.25, max=8) + wait_random(0, 0.25),
        reraise=True,
    )
    async for attempt in retrying:
        if failed is not None:  # tell tenacity how the first attempt ended
            with attempt:
                raise failed
            failed = None
            continue
        with attempt:
            return await copy_once(session, url, folder, stem, options, io)
    raise AssertionError("unreachable: tenacity returns the result or reraises the last error")
