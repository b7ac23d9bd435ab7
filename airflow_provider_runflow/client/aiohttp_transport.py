"""An httpx transport on aiohttp, for the triggerer's shared client: httpx stays the API, aiohttp sends.

httpcore's asyncio path costs ~2.4 ms of CPU per small request against ~0.9 ms for aiohttp
(``docs/benchmarks.md``): at 5,000 triggers polling every 5 s that is the difference between
a saturated triggerer and a quarter of a core. Behaviour is kept: TLS verification as httpx
does it, redirects never followed (httpx decides, aiohttp is told not to), httpx decodes the
body, cookies stay with httpx, and aiohttp's errors become the httpx errors our retry policy
classifies: only failures before the request left are marked as never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.request import getproxies

import aiohttp
import httpx
from yarl import URL

from airflow_provider_runflow.client.config import ClientConfig, ssl_context

# Most specific first: aiohttp's timeouts are also ClientConnectionErrors.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, refused, TLS handshake: nothing was sent
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientError, httpx.ReadError),
)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except (TimeoutError, aiohttp.ClientError) as err:
        kind = next(target for source, target in _ERRORS if isinstance(err, source))
        raise kind(str(err) or type(err).__name__, request=request) from err


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests with one aiohttp session (created on first use, in the running loop).

    :param verify: as ``ClientConfig.verify``: True, or a CA bundle path.
    :param limits: httpx's connection limits (the total and the keep-alive expiry apply).
    """

    def __init__(self, verify: bool | str = True, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        # The SSL context every client of this process shares: httpx's CA bundle and checks, built once.
        self._ssl = ssl_context(verify)
        self._limit = limits.max_connections or 0
        self._keepalive = limits.keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes by Content-Encoding
                trust_env=False,  # proxies: see async_transport()
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        data = await request.aread() or None
        with _httpx_errors(request):
            response = await self._get_session().request(
                request.method,
                URL(str(request.url), encoded=True),  # already quoted by httpx: send it as is
                headers=list(request.headers.multi_items()),
                data=data,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def async_transport(config: ClientConfig) -> httpx.AsyncBaseTransport | None:
    """The aiohttp transport for ``config``, or None (httpx's own) when an environment proxy may apply.

    httpx honours HTTP(S)_PROXY/ALL_PROXY/NO_PROXY only with its own transports; rather than
    re-implement that, a proxied environment keeps httpx's transport.
    """
    if any(scheme != "no" for scheme in getproxies()):
        return None
    return AiohttpTransport(verify=config.verify)
