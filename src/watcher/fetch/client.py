"""The HTTP side of a check: conditional GETs over pooled connections, limits and politeness.

A `Fetcher` turns a URL and the validators stored from the last check into a `Response`, or
raises `FetchError` with a reason fit for an operator. It never parses what it fetched.

Requests and responses are httpx's; the bytes travel over aiohttp (`transport.py`). The
fetcher hands requests to the transport itself instead of going through `httpx.AsyncClient`:
on a pass of 304s the client's per-request work (auth flow, a cookie jar fed from every
response, URL parsing) cost as much CPU as the transport and aiohttp together. It follows
redirects itself, and each fetch is a fresh visit: cookies a site sets during a redirect
chain are sent on within that chain and forgotten after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache

import aiohttp
import httpx

from watcher.config.units import format_duration
from watcher.fetch.encoding import ContentDecoder, too_big
from watcher.fetch.errors import FetchError
from watcher.fetch.guard import check_literal
from watcher.fetch.transport import PUBLIC_ONLY, AiohttpTransport

MAX_RETRY_AFTER = 7 * 86400.0
# A GET has no body. Handed a stream, httpx adds no headers of its own, so the fetcher sends
# Host itself and httpx's per-request header rebuild is skipped (with the Location lookup
# below, ~15 us of the ~88 us a 304 cost over plain aiohttp). A ByteStream holds no state:
# one serves every request.
NO_BODY = httpx.ByteStream(b"")


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    body: bytes
    content_type: str | None
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def body_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    timeout: float
    max_bytes: int
    accept: str = "*/*"  # the Accept header: what the source's kind reads (extract/kinds/)
    validators: Validators = Validators()
    headers: tuple[tuple[str, str], ...] = ()
    allow_private: bool = False  # may a redirect to another host reach private addresses
    public_only: bool = False  # the URL's own host must be public too (a linked document's)
    wait_for: str | None = None  # the browser: a selector to wait for (Playwright's syntax)


class Fetcher:
    """Fetches with at most `per_host` requests in flight per host, over pooled connections."""

    def __init__(
        self,
        *,
        user_agent: str,
        per_host: int = 2,
        max_redirects: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._per_host = per_host
        self._headers = (("User-Agent", user_agent), ("Accept-Encoding", "gzip, deflate"))
        self._slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host)
        )
        self._transport = transport or AiohttpTransport(keepalive_expiry=30.0)
        self._max_redirects = max_redirects

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def fetch(self, request: Request, slots: asyncio.Semaphore | None = None) -> Response:
        """Fetch once the host has a free slot and then, with `slots` (the caller's bound on
        requests in flight), one of those: a request waiting for its host holds none of the
        caller's slots, which requests to other hosts use meanwhile."""
        try:
            url, host = _target(request.url)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FetchError(f"cannot fetch this URL: {_describe(exc)}") from None
        async with self._slots[host], slots or contextlib.nullcontext():
            try:
                async with asyncio.timeout(request.timeout):
                    return await self._fetch(url, request)
            except TimeoutError:
                raise FetchError(
                    f"timed out after {format_duration_seconds(request.timeout)}"
                ) from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise FetchError(f"cannot fetch this URL: {_describe(exc)}") from None
            except (httpx.TransportError, aiohttp.ClientError) as exc:
                raise FetchError(_transport_reason(exc, request.timeout)) from None
            except httpx.HTTPError as exc:
                raise FetchError(f"HTTP error: {_describe(exc)}") from None

    async def _fetch(self, url: httpx.URL, request: Request) -> Response:
        headers = [
            *self._headers,
            ("Accept", request.accept),
            *request.headers,
            *request.validators.headers().items(),
        ]
        outgoing = _get(url, headers)
        if request.public_only:  # not the operator's choice: a link a page gave
            check_literal(url.host)
            outgoing.extensions[PUBLIC_ONLY] = True
        cookies: httpx.Cookies | None = None
        for _ in range(self._max_redirects + 1):
            response = await self._transport.handle_async_request(outgoing)
            # httpx's is_redirect holds for every 3xx, 304 included: ask for a redirect.
            location = response.headers["Location"] if response.has_redirect_location else None
            if location is None:
                return await _received(response, request.max_bytes)
            await response.aclose()
            if "Set-Cookie" in response.headers:
                cookies = cookies or httpx.Cookies()
                cookies.extract_cookies(response)
            outgoing = _redirected(outgoing, location, cookies)
            if outgoing.url.host != url.host and not request.allow_private:
                check_literal(outgoing.url.host)  # and names when they are resolved:
                outgoing.extensions[PUBLIC_ONLY] = True
        raise FetchError(f"too many redirects (more than {self._max_redirects})")


@lru_cache(maxsize=65_536)
def _target(text: str) -> tuple[httpx.URL, str]:
    """The URL, parsed once per configured URL (httpx's parser cost a tenth of a 304 check),
    and the host its requests queue for."""
    url = httpx.URL(text)
    if url.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"the scheme must be http or https: {text}")
    return url, f"{url.host}:{url.port or ''}"


def _get(url: httpx.URL, headers: list[tuple[str, str]]) -> httpx.Request:
    """A GET with these headers, and Host unless they hold one already (httpx adds none to a
    request built with a stream)."""
    if not any(name.lower() == "host" for name, _ in headers):
        headers = [("Host", url.netloc.decode("ascii")), *headers]
    return httpx.Request("GET", url, headers=headers, stream=NO_BODY)


def _redirected(
    previous: httpx.Request, location: str, cookies: httpx.Cookies | None
) -> httpx.Request:
    """The next request of a redirect chain: always a GET (watcher only reads), headers kept
    except the credentials a different origin must not see."""
    url = previous.url.join(location)
    if url.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"redirected to a URL that is not http(s): {url}")
    same_origin = (url.scheme, url.host, url.port) == (
        previous.url.scheme,
        previous.url.host,
        previous.url.port,
    )
    dropped = {"host"} if same_origin else {"host", "authorization", "cookie"}
    headers = [(k, v) for k, v in previous.headers.multi_items() if k.lower() not in dropped]
    request = _get(url, headers)
    if cookies is not None:
        cookies.set_cookie_header(request)
    return request


async def _received(response: httpx.Response, max_bytes: int) -> Response:
    """The final response of a chain, as a `Response`, or the error its status means."""
    try:
        status = response.status_code
        headers = _picked(response.headers)
        if status >= 400:
            raise FetchError(
                f"HTTP {status} {response.reason_phrase}".strip(),
                status=status,
                retry_after=retry_after_seconds(headers.get("retry-after")),
            )
        validators = Validators(headers.get("etag"), headers.get("last-modified"))
        if status == 304:
            return Response(str(response.url), 304, b"", None, validators)
        if 300 <= status < 400:  # its body is no page: an empty one would become the baseline
            raise FetchError(
                f"HTTP {status} {response.reason_phrase}".strip()
                + " with no redirect to follow (a Location with 301, 302, 303, 307 or 308)",
                status=status,
            )
        body = await _read_limited(response, max_bytes, headers)
        return Response(str(response.url), status, body, headers.get("content-type"), validators)
    finally:
        await response.aclose()


_PICKED = frozenset(
    {"etag", "last-modified", "content-type", "content-length", "content-encoding", "retry-after"}
)


def _picked(headers: httpx.Headers) -> dict[str, str]:
    """The headers a fetch reads, in one walk: each `Headers.get` decodes every header."""
    encoding = headers.encoding
    return {
        name: value.decode(encoding)
        for name, value in ((key.decode("ascii").lower(), value) for key, value in headers.raw)
        if name in _PICKED
    }


async def _read_limited(response: httpx.Response, max_bytes: int, headers: dict[str, str]) -> bytes:
    """Read and decode the body, stopping as soon as it, or any layer of its Content-Encoding,
    grows past `max_bytes`."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_big(max_bytes)
    decoder = ContentDecoder(headers.get("content-encoding"), max_bytes)
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise too_big(max_bytes)
        chunks.append(decoder.decode(chunk))
    decoder.finish()
    return b"".join(chunks)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After: 120` or `Retry-After: <HTTP date>` -> seconds from now (capped at a week)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def format_duration_seconds(seconds: float) -> str:
    return format_duration(timedelta(seconds=seconds))


def _transport_reason(exc: Exception, timeout: float) -> str:
    """Why the connection failed, from aiohttp's own error where there is one: the transport
    raises httpx errors *from* aiohttp's, and the cause is the more precise of the two."""
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    if isinstance(cause, aiohttp.ServerDisconnectedError | httpx.RemoteProtocolError):
        return f"the server broke off the response: {_describe(cause)}"
    if isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return f"the server broke off the response: {_describe(cause)}"
    if isinstance(cause, aiohttp.ClientConnectorError | httpx.ConnectError):
        return f"cannot connect: {_describe(cause)}"
    if isinstance(
        cause, asyncio.TimeoutError | aiohttp.ServerTimeoutError | httpx.TimeoutException
    ):
        return f"timed out after {format_duration_seconds(timeout)}"
    return f"connection failed: {_describe(cause)}"


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    if not text and exc.__cause__ is not None:
        text = str(exc.__cause__).strip()
    return text or type(exc).__name__
