"""Source kinds: what a source's response is, and how it becomes a document.

Each kind is one module with one class and one line in `KINDS` below, in the manner of
urlwatch's filters: it names the media types it accepts (its requests' Accept header), says
whether a response looks like it (for `kind = "auto"`), and reads a response into one of the
two documents diff, render and notify understand (`extract/document.py`): a `PageDocument` of
sectioned lines, or a `FeedDocument` of keyed entries. A new kind changes nothing downstream.

    class YamlKind:
        name = "yaml"
        what = "YAML"
        media_types = ("application/yaml",)
        options = frozenset({"select"})        # which of select, exclude, match it reads
        selector = YAML_PATH                   # the Syntax `select` is written in
        claims = frozenset()                   # options that make an `auto` source a yaml
        fetches = ("http",)                    # "browser" only for what Chromium renders
        def sniff(self, body: bytes, media: str) -> bool: ...
        def read(self, reading: Reading) -> tuple[Document | None, str | None]: ...

A kind's declarations are the configuration's rules for it (`extract/kinds/rules.py`, checked
as the file is read): which options apply, in which selector language, fetched how. A kind's
module imports what reads its documents inside `read` and `sniff`, so that checking a
configuration costs no more than the declarations.

Detection tries the kinds in the order of `KINDS`; `page` comes last and takes what none of
the others claims (and refuses what is not HTML either, with the reason).
"""

from __future__ import annotations

from watcher.errors import CheckError
from watcher.extract.document import Document
from watcher.extract.kinds.kind import Kind, NotReadable, Reading, Syntax

__all__ = ["KINDS", "Kind", "Reading", "Syntax", "accept_header", "detect", "read_response"]


def _kinds() -> dict[str, Kind]:
    from watcher.extract.kinds.feed import FeedKind
    from watcher.extract.kinds.json import JsonKind
    from watcher.extract.kinds.page import PageKind
    from watcher.extract.kinds.pdf import PdfKind
    from watcher.extract.kinds.sitemap import SitemapKind

    kinds = (SitemapKind(), FeedKind(), JsonKind(), PdfKind(), PageKind())
    return {kind.name: kind for kind in kinds}


def read_response(kind: str, reading: Reading) -> tuple[Document | None, str | None, list[str]]:
    """`KINDS[kind].read(reading)` with the warnings it gave: what a check's extraction worker
    runs (`extract/bounded.py`), where the reading's own list does not come back."""
    try:
        document, fingerprint = KINDS[kind].read(reading)
    except NotReadable as refused:  # the page kind, last resort: what watcher reads
        raise CheckError(f"not {readable()}: {refused.reason}") from None
    if document is not None:
        document.finish()  # here, in the worker: packed, with what the service asks of it
    return document, fingerprint, reading.warnings


def detect(body: bytes, content_type: str | None) -> Kind:
    """The kind an `auto` source's response is."""
    media = (content_type or "").split(";")[0].strip().lower()
    for kind in KINDS.values():
        if kind.sniff(body, media):
            return kind
    return KINDS["page"]


def readable() -> str:
    """What watcher reads, for a reason: "HTML, a feed, JSON or a PDF"."""
    names = [kind.what for kind in reversed(KINDS.values())]
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def accept_header(name: str) -> str:
    """The Accept header of a request for a source of this kind ("auto": any of them)."""
    kinds = [KINDS[name]] if name in KINDS else list(reversed(KINDS.values()))  # page first
    first = list(dict.fromkeys(kind.media_types[0] for kind in kinds))
    rest = [media for kind in kinds for media in kind.media_types[1:] if media not in first]
    rest = list(dict.fromkeys(rest))
    return ",".join([*first, *(f"{media};q=0.9" for media in rest), "*/*;q=0.5"])


KINDS: dict[str, Kind] = _kinds()  # last: the kinds' modules import what is above
