"""Diffing: stored document -> new document -> the change worth telling people about."""

from watcher.diff.change import (
    Change,
    DiffLine,
    EntryChange,
    FeedChange,
    Headline,
    PageChange,
    SectionChange,
    change_from_json,
)
from watcher.diff.feed import diff_feeds
from watcher.diff.page import diff_pages

__all__ = [
    "Change",
    "DiffLine",
    "EntryChange",
    "FeedChange",
    "Headline",
    "PageChange",
    "SectionChange",
    "change_from_json",
    "diff_feeds",
    "diff_pages",
]
