"""The browser's only way out: an HTTP proxy on loopback that applies `fetch/guard.py`.

A rendered page reaches out in many ways (subresources and their redirects, fetch and XHR,
WebSockets, EventSource, beacons, frames, popups, navigations), and Chromium follows
redirects without asking anyone. Rather than intercept each kind, every render's browser
context is sent through a `Gate` of its own, and Chromium is told to send loopback through it
too (`<-loopback>`): every connection the page makes is asked for here, by host name, and
the gate decides with the HTTP fetcher's rules. The configured URL's host is the operator's
choice; any other host must resolve only to public addresses, unless the source sets
`allow_private`. The gate resolves the name itself and connects to the very address it
checked, so a DNS answer that changes in between (rebinding) cannot slip through.

Two forms of request arrive: `CONNECT host:port` (HTTPS and WebSockets: a tunnel, the bytes
piped both ways) and a plain `GET http://host/path` (forwarded in origin form with
`Connection: close`, the answer piped back). A refused request is answered 403 and its host
remembered in `refused`, one that cannot be reached (no such name, a refused connection) is
answered 502 and remembered in `unreachable` with the reason, so the fetcher can say why a
page or its main document failed, in the HTTP fetcher's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

from watcher.fetch.guard import is_public
from watcher.text import one_line

log = logging.getLogger("watcher.fetch")

MAX_HEAD = 64 * 1024  # bytes of a request's line and headers
HEAD_TIMEOUT = 10.0  # seconds for a client to send them
CONNECT_TIMEOUT = 10.0
HOP_BY_HOP = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")
REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
UNREACHABLE = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass
class Gate:
    """A proxy for one render: `own` is the configured URL's host, always allowed."""

    own: str
    allow_private: bool = False
    refused: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why, as the fetcher says
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> Gate:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._one(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except asyncio.CancelledError:  # the gate closes (only `__aexit__` cancels these):
            pass  # ended quietly, as asyncio's server would log a cancelled handler
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD:
            writer.write(BAD)
            return
        line, _, rest = head.partition(b"\r\n")
        parts = line.split(b" ")
        if len(parts) != 3:
            writer.write(BAD)
            return
        method, target, version = parts
        tunnel = method.upper() == b"CONNECT"
        found = _where(target.decode("latin-1"), tunnel)
        if found is None:
            writer.write(BAD)
            return
        host, port, path = found
        address = await self._allowed(host)
        if address is None:
            writer.write(REFUSED if host in self.refused else UNREACHABLE)
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                upstream_reader, upstream = await asyncio.open_connection(address, port)
        except (OSError, TimeoutError) as exc:
            why = str(exc) or f"no answer within {CONNECT_TIMEOUT:g} s"
            self.unreachable[host] = f"cannot connect to {host}:{port}: {one_line(why)}"
            writer.write(UNREACHABLE)
            return
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await _pipe(reader, writer, upstream_reader, upstream)
            else:
                # One request a connection: its body (by Content-Length) goes up, then only
                # the answer comes down. A next request on this connection, perhaps for
                # another host, is never passed along unchecked: the connection ends.
                upstream.write(_forwarded(method, path, version, rest))
                length = _content_length(rest)
                if length:
                    upstream.write(await reader.readexactly(length))
                while chunk := await upstream_reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
        finally:
            upstream.close()

    async def _allowed(self, host: str) -> str | None:
        """The address to connect to for `host`, or None (and `refused` told) when the
        rules refuse it: a host other than the source's own that is not public."""
        own = host == self.own
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:  # it does not resolve: nothing to reach, nothing to refuse
            self.unreachable[host] = f"cannot connect to {host}: {one_line(str(exc))}"
            return None
        addresses = [str(info[4][0]) for info in infos]
        if own or self.allow_private:
            return addresses[0] if addresses else None
        public = [address for address in addresses if is_public(address)]
        if not addresses or len(public) != len(addresses):
            self.refused.append(host)
            log.info("the browser's request to %s was refused (private address space)", host)
            return None
        return public[0]


def _where(target: str, tunnel: bool) -> tuple[str, int, str] | None:
    """(host, port, path) of a request's target: `host:port` for CONNECT, an absolute
    `http://host[:port]/path` otherwise (anything else is refused)."""
    from urllib.parse import urlsplit

    try:
        if tunnel:
            parts = urlsplit(f"//{target}")
            path = ""
        else:
            parts = urlsplit(target)
            if parts.scheme.lower() != "http":
                return None
            path = parts.path or "/"
            if parts.query:
                path += f"?{parts.query}"
        host, port = (parts.hostname or "").lower(), parts.port or (443 if tunnel else 80)
    except ValueError:
        return None
    return (host, port, path) if host else None


def _content_length(rest: bytes) -> int:
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return max(int(value.strip()), 0)
            except ValueError:
                return 0
    return 0


def _forwarded(method: bytes, path: str, version: bytes, rest: bytes) -> bytes:
    """The request as its server wants it: origin form, no proxy headers, one request."""
    headers = [
        line
        for line in rest.split(b"\r\n")
        if line and line.split(b":", 1)[0].strip().lower() not in HOP_BY_HOP
    ]
    head = [b" ".join((method, path.encode("latin-1"), version)), *headers, b"Connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n"


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until either side is done."""

    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()

    up = asyncio.ensure_future(copy(reader, upstream))
    down = asyncio.ensure_future(copy(upstream_reader, writer))
    try:
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        if down.done():  # the server is done: so is this exchange
            up.cancel()
        else:
            await down
    finally:
        up.cancel()
        down.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
