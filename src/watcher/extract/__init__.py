"""Extraction: bytes of a page or feed -> the document whose changes matter."""

import hashlib

from watcher.config.sources import Source
from watcher.extract.document import (
    Document,
    Entry,
    FeedDocument,
    Line,
    PageDocument,
    document_from_json,
)
from watcher.extract.errors import ExtractError

# Raised whenever a release reads pages into different documents (2: layout tables walked as
# containers, not flattened into rows), so that a stored page snapshot made by an older
# release is replaced by a new baseline instead of being compared with, which would report
# the difference in reading as a change of the page. Feeds read as before.
PAGE_EXTRACTION = 2


def document_key(source: Source, kind: str | None, noise: frozenset[str] = frozenset()) -> str:
    """What produced a stored document: the source's settings that shape it
    (`Source.extract_key`), for a page the version of page extraction, and the lines
    learned as noise (`extract/noise.py`): forgetting them takes a fresh baseline."""
    if kind != "page" and not noise:
        return source.extract_key
    shape = f"{source.extract_key}:page{PAGE_EXTRACTION}" if kind == "page" else source.extract_key
    if noise:
        shape += ":noise:" + "\n".join(sorted(noise))
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


__all__ = [
    "Document",
    "Entry",
    "ExtractError",
    "FeedDocument",
    "Line",
    "PageDocument",
    "document_from_json",
    "document_key",
]
