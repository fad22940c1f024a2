"""Pages: HTML decoded as browsers do, the selected part (or the main content) fingerprinted,
and read into sectioned lines only when that fingerprint is new."""

from __future__ import annotations

from watcher.extract.document import Document
from watcher.extract.kinds.kind import NotReadable, Reading, Syntax

HTML_TYPES = ("text/html", "application/xhtml+xml")


def _compile(selector: str) -> object:
    from watcher.extract.select import compile_selector

    return compile_selector(selector)


CSS = Syntax("a CSS selector (or xpath:...)", "", "#content", _compile)


class PageKind:
    name = "page"
    what = "HTML"
    media_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    options: frozenset[str] = frozenset({"select", "exclude", "documents"})
    selector: Syntax | None = CSS
    claims: frozenset[str] = frozenset()
    fetches: tuple[str, ...] = ("http", "browser")

    def sniff(self, body: bytes, media: str) -> bool:
        return media in HTML_TYPES or _looks_like_html(body)

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        from watcher.extract.page import document_of, select
        from watcher.fetch import decode_body

        _require_html(reading)
        decoded = decode_body(reading.body, reading.content_type)
        if decoded.warning:
            reading.warnings.append(decoded.warning)
        selection = select(decoded.text, reading.source, reading.warnings)
        fingerprint = selection.fingerprint()
        if fingerprint == reading.known:
            return None, fingerprint
        return document_of(selection, reading.source, reading.noise, reading.url), fingerprint


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lower()
    return b"<html" in head or b"<body" in head or b"<!doctype html" in head


def _require_html(reading: Reading) -> None:
    media = reading.media
    if media in HTML_TYPES:
        return
    if not media:
        if _looks_like_html(reading.body):
            return
        raise NotReadable("no Content-Type, and the body does not look like any of them")
    raise NotReadable(f"the server sent {media}")
