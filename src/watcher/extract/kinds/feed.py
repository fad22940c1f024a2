"""Feeds: RSS and Atom (feedparser), entries keyed and optionally filtered by `match`."""

from __future__ import annotations

from watcher.extract.document import Document
from watcher.extract.feed import extract_feed, looks_like_feed
from watcher.extract.kinds import Reading


class FeedKind:
    name = "feed"
    what = "a feed"
    media_types: tuple[str, ...] = (
        "application/atom+xml",
        "application/rss+xml",
        "application/xml",
        "text/xml",
    )

    def sniff(self, body: bytes, media: str) -> bool:
        return looks_like_feed(body, media)

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        return extract_feed(
            reading.body, reading.content_type, reading.source, reading.warnings
        ), None
