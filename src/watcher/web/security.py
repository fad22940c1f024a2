"""What keeps the web side safe: same-origin forms, rate limits, secret-free logs, headers.

Cross-site posting: a state-changing form must come from our own pages, which a browser
shows with `Sec-Fetch-Site: same-origin` (older ones with `Origin` or `Referer`). The
unsubscribe endpoint is the exception: RFC 8058 one-click requests come from mail providers'
servers, and the unguessable token in its URL is the protection there.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

TOKEN_PATH = re.compile(r"^/(confirm|unsubscribe|manage|editor/password)/[^/?#]+")
SECURITY_HEADERS = {
    # Tokens live in URLs: never send them on to another site in a Referer. ("no-referrer"
    # would also make browsers send `Origin: null` on our own forms.)
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
}


def redact(path: str) -> str:
    """`/unsubscribe/12.s3cr3t` -> `/unsubscribe/<token>`: secrets never reach a log."""
    return TOKEN_PATH.sub(lambda found: f"/{found.group(1)}/<token>", path)


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request, public_url: str) -> bool:
    """Did this POST come from one of our own pages? Browsers say so in `Sec-Fetch-Site`;
    older ones in `Origin`, or failing that `Referer`."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    allowed = {origin_of(public_url), origin_of(str(request.base_url))}
    claimed = request.headers.get("origin")
    if claimed and claimed != "null":
        return claimed.lower() in allowed
    referer = request.headers.get("referer")
    if not referer:
        return False
    return origin_of(referer) in allowed


class RateLimit:
    """At most `limit` events per key within `window` seconds (per process)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.events: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = self.clock()
        seen = self.events[key]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        if len(self.events) > 10_000:  # forget idle keys so memory stays bounded
            for stale in [k for k, v in self.events.items() if not v or v[-1] <= now - self.window]:
                del self.events[stale]
        return True


Endpoint = Callable[[Request], Awaitable[Response]]


async def secure_headers(request: Request, call_next: Endpoint) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path.startswith(("/confirm/", "/unsubscribe/", "/manage/")):
        response.headers["Cache-Control"] = "no-store"
    return response
