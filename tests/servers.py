"""A scripted HTTP server on 127.0.0.1 for the failure cases a real site would never show
on demand: slow bodies, endless redirects, huge bodies, wrong types, broken connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from watcher.demo.site import QuietHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    path: str
    headers: Message
    method: str = "GET"
    body: bytes = b""


@dataclass
class ScriptedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"  # any loopback address: 127.0.0.3 stands for another machine
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = QuietHTTPServer((self.host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}{path}"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, path: str) -> int:
        return sum(1 for item in self.seen if item.path == path)


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server.connections += 1

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length else b""
            self.do_GET(method="POST")

        def do_GET(self, method: str = "GET") -> None:
            path = self.path.split("?")[0]
            if method == "GET":
                self.body = b""  # a connection kept alive may have carried a POST before
            body = self.body
            with server._lock:  # headers are case-insensitive, as HTTP is
                server.seen.append(Seen(path, self.headers, method, body))
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                route = server.routes.get(path)
                if route is None:
                    reply(self, 404, b"not found", "text/plain")
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with server._lock:
                    server.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def static(
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Route:
    return lambda handler: reply(handler, status, body, content_type, headers)


def slow(seconds: float, body: bytes = b"<html><body><p>late</p></body></html>") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        reply(handler, 200, body)

    return route


def endless(chunk: bytes = b"<p>" + b"x" * 8192 + b"</p>\n", pause: float = 0.0) -> Route:
    """A chunked body with no Content-Length that never ends (until the client hangs up)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for piece in [b"<html><body>"] + [chunk] * 100_000:
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            if pause:
                time.sleep(pause)

    return route


def redirect(location: str) -> Route:
    return lambda handler: reply(handler, 302, b"", None, {"Location": location})


def redirect_loop(path: str) -> Route:
    """A redirect to itself, for ever."""
    return redirect(path)


def hang_up() -> Route:
    """Accept the request, then close the connection without a response."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.connection.shutdown(2)

    return route


class Listener:
    """A TCP port that stands for an internal service: it counts every connection made to
    it (and answers nothing), so a test can say that nothing reached it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        import socket

        self.connections = 0
        self._socket = socket.create_server((host, 0))
        self._socket.settimeout(0.1)
        self.host, self.port = host, self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()
