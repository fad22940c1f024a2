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

# Raised for a kind whenever a release reads it into different documents (page 2: layout
# tables walked as containers, not flattened into rows; page 3: a button's text kept where it
# is content; json 2: a list's items known by
# their key, not their place; pdf 2: headings by shape and outline, a line's superscripts and
# a form's fields kept), so that a snapshot an older release stored is replaced by a
# new baseline instead of being compared with, which would report the difference in
# reading as a change. A kind not named here reads as it always did.
EXTRACTION = {"page": 3, "json": 2, "pdf": 2}


def document_key(source: Source, kind: str | None, noise: frozenset[str] = frozenset()) -> str:
    """What produced a stored document: the source's settings that shape it
    (`Source.extract_key`), the version of its kind's reading (`EXTRACTION`), and the lines
    learned as noise (`extract/noise.py`): forgetting them takes a fresh baseline."""
    version = EXTRACTION.get(kind or "")
    if version is None and not noise:
        return source.extract_key
    shape = f"{source.extract_key}:{kind}{version}" if version else source.extract_key
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
