"""The bundled example site, served over real HTTP on 127.0.0.1 in one of its revisions.

Each file gets an ETag from its content and a Last-Modified from the moment that content was
first served, so conditional requests behave as on a real site. Used by `watcher demo` and by
the tests; it runs in a background thread so that it serves while the caller's loop works.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

CONTENT_TYPES = {
    ".html": "text/html",  # no charset: the pages declare theirs in a meta tag
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
}


def site_root() -> Path:
    """The folder holding the revisions r1, r2, r3 of the example site."""
    return Path(str(resources.files("watcher.demo") / "site"))


class QuietHTTPServer(ThreadingHTTPServer):
    """A client closing a kept-alive connection is normal, not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """`with SiteServer() as site: site.revision = "r2"; site.url("/cp/vietnam.html")`."""

    def __init__(self, root: Path | None = None, *, revision: str = "r1", port: int = 0) -> None:
        self.root = root or site_root()
        self.revision = revision
        self.requests: Counter[str] = Counter()
        self.overrides: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self._first_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = QuietHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def respond(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a GET of `path` in the current revision."""
        with self._lock:
            self.requests[path] += 1
            if path in self.overrides:
                return self.overrides[path]
            revision = self.revision
        file = (self.root / revision / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        body = file.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            first = self._first_seen.setdefault(f"{path}:{digest}", time.time())
        headers = {
            "Content-Type": CONTENT_TYPES.get(file.suffix, "application/octet-stream"),
            "ETag": f'"{digest[:20]}"',
            "Last-Modified": formatdate(first, usegmt=True),
        }
        return 200, headers, body


def _not_modified(request: BaseHTTPRequestHandler, headers: dict[str, str]) -> bool:
    """RFC 9110: If-None-Match decides when present; If-Modified-Since only without it."""
    etag = headers.get("ETag")
    match = request.headers.get("If-None-Match")
    if match is not None:
        return etag is not None and etag in [tag.strip() for tag in match.split(",")]
    since = request.headers.get("If-Modified-Since")
    modified = headers.get("Last-Modified")
    if since and modified:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _handler_for(site: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            status, headers, body = site.respond(path)
            if status == 200 and _not_modified(self, headers):
                status, body = 304, b""
            self.send_response(status)
            for name, value in headers.items():
                if status != 304 or name in ("ETag", "Last-Modified"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the demo prints its own story

    return Handler
