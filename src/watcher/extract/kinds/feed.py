"""Feeds: RSS and Atom (feedparser), entries keyed and optionally filtered by `match`."""

from __future__ import annotations

from watcher.extract.document import Document
from watcher.extract.kinds.kind import Reading, Syntax


class FeedKind:
    name = "feed"
    what = "a feed"
    media_types: tuple[str, ...] = (
        "application/atom+xml",
        "application/rss+xml",
        "application/xml",
        "text/xml",
    )
    options: frozenset[str] = frozenset({"match"})
    selector: Syntax | None = None
    claims: frozenset[str] = frozenset({"match"})
    fetches: tuple[str, ...] = ("http",)

    def sniff(self, body: bytes, media: str) -> bool:
        from watcher.extract.feed import looks_like_feed

        return looks_like_feed(body, media)

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        from watcher.extract.feed import extract_feed

        return extract_feed(
            reading.body, reading.content_type, reading.source, reading.warnings
        ), None
