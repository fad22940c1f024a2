"""The demo's webhook receiver: a channel beside email, so a newcomer sees one.

It listens on 127.0.0.1, checks each delivery's signature as a real receiver should
(`notify/channels/webhook.py`), answers 200, and writes one line per delivery to
`webhook.log` in the demo's folder, which the demo prints as it goes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from watcher.demo.site import QuietHTTPServer

NAME = "demo-webhook"
SECRET = "demo-secret-not-for-production"  # noqa: S105 (the demo's own, on 127.0.0.1)


class WebhookReceiver:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._server = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def environ(self) -> dict[str, str]:
        """What the demo's configuration needs to reach this receiver."""
        variable = "WATCHER_CHANNEL_" + NAME.upper().replace("-", "_")
        return {variable: self.url, f"{variable}_SECRET": SECRET}

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, body: bytes, signature: str) -> None:
        parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
        mac = hmac.new(SECRET.encode(), f"{parts.get('t', '')}.".encode() + body, hashlib.sha256)
        valid = hmac.compare_digest(parts.get("v1", ""), mac.hexdigest())
        payload: dict[str, Any] = json.loads(body)
        country = payload.get("country", {}).get("name", "several countries")
        count = len(payload.get("changes", []))
        line = (
            f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {payload.get('event')} {payload.get('id')}:"
            f" {country}, {count} change{'s' if count != 1 else ''};"
            f" signature {'ok' if valid else 'WRONG'}"
        )
        with self._lock:
            self.lines.append(line)
            with self.log.open("a") as out:
                out.write(line + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received(body, self.headers.get("Watcher-Signature", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
