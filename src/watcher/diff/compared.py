"""Two stored versions compared on request (an editor's decision, a source's history), in
the extraction pool within its deadline, as every comparison of remote text is."""

from __future__ import annotations

from watcher.diff.change import Change
from watcher.diff.feed import diff_feeds
from watcher.diff.page import diff_pages
from watcher.errors import WatcherError
from watcher.extract.bounded import BoundedPool
from watcher.extract.document import Document, FeedDocument, PageDocument


class Unlike(WatcherError):
    """The two versions are of different kinds (a page and a feed): no difference to show."""


async def compare(
    pool: BoundedPool, deadline: float, old: Document, new: Document
) -> Change | None:
    """`new` against `old` (of one kind); None when they read the same. Raises `Unlike`
    for a page against a feed, and the pool's `Overrun` past the deadline or memory."""
    if isinstance(old, FeedDocument) and isinstance(new, FeedDocument):
        change, _ = await pool.run("comparing", deadline, diff_feeds, old, new)
        found: Change | None = change
        return found
    if isinstance(old, PageDocument) and isinstance(new, PageDocument):
        paged: Change | None = await pool.run("comparing", deadline, diff_pages, old, new)
        return paged
    raise Unlike("a page and a feed cannot be compared")
