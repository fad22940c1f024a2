"""Extraction: bytes of a page or feed -> the document whose changes matter."""

from watcher.extract.document import (
    Document,
    Entry,
    FeedDocument,
    Line,
    PageDocument,
    document_from_json,
)
from watcher.extract.errors import ExtractError

__all__ = [
    "Document",
    "Entry",
    "ExtractError",
    "FeedDocument",
    "Line",
    "PageDocument",
    "document_from_json",
]
