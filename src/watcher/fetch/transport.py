"""An httpx transport that carries requests over aiohttp.

httpx stays the API the rest of watcher speaks (requests, responses, URLs, content
decoding, errors); aiohttp moves the bytes. Measured against local nginx, httpx's own
HTTP/1.1 transport spent ~4.5 ms of CPU per request, httpx-aiohttp's ~0.46 ms and this one
~0.3 ms (bench/README.md). It does less: no proxies, no per-request aiohttp timeouts (the
caller bounds each fetch as a whole), no cookie jar, and the body is read before sending,
so a GET never goes out as an empty chunked stream.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
from yarl import URL

from watcher.fetch.errors import FetchError
from watcher.fetch.guard import PrivateAddress, PublicOnlyResolver

# A request with this extension set may reach public addresses only (a redirect to another
# host): it goes through a session whose resolver drops every other address.
PUBLIC_ONLY = "watcher.public_only"


class AiohttpTransport(httpx.AsyncBaseTransport):
    """aiohttp sessions (created on first use, inside the running loop), pooled per host: one
    for what the operator configured, one that reaches public addresses only."""

    def __init__(
        self, *, keepalive_expiry: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._keepalive_expiry = keepalive_expiry
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _open(self, public_only: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,  # the caller bounds requests in flight, per host
            keepalive_timeout=self._keepalive_expiry,
            ssl=self._ssl,
            resolver=PublicOnlyResolver() if public_only else None,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # httpx decodes, from the headers it is handed
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        public_only = bool(request.extensions.get(PUBLIC_ONLY))
        session = self._sessions.get(public_only)
        if session is None:
            session = self._sessions[public_only] = self._open(public_only)
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),  # httpx has already encoded it
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                compress=None,
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, PrivateAddress):
                raise FetchError(str(exc.os_error)) from None
            raise _httpx_error(exc, request) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": _reason(response)},
        )

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        # Hands the connection back to the pool when the body was read to its end, and
        # closes it otherwise (a body cut off at max_bytes leaves bytes on the wire).
        self._response.release()


def _reason(response: aiohttp.ClientResponse) -> bytes:
    return (response.reason or "").encode("latin-1", "replace")


def _httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp one; the caller keeps the original as the cause."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(message, request=request)
    return httpx.NetworkError(message, request=request)
