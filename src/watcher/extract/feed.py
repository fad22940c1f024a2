"""RSS/Atom -> FeedDocument: entries keyed by id (else link), filtered by the source's `match`.

Malformed feeds are common; feedparser recovers what it can ("bozo" feeds) and we use every
entry it parsed, keeping its complaint as a warning. A feed it recognised (a version and a
title) with no entries yet is a valid, empty baseline: its first entry is news when it
comes. Only a response with nothing usable in it fails the check, with a reason naming what
was found instead.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from datetime import UTC, datetime
from typing import Any

import lxml.html
from lxml import etree

from watcher.config.sources import Source
from watcher.extract.document import Entry, FeedDocument
from watcher.extract.errors import ExtractError
from watcher.extract.page import normalize_space
from watcher.text import clean, one_line

SUMMARY_MAX = 2000
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+[^\[>]*\[", re.IGNORECASE)
_DECLARATIONS_WITHIN = 4096  # bytes in which a DOCTYPE with declarations is looked for
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)", re.I | re.S)


def extract_feed(
    body: bytes, content_type: str | None, source: Source, warnings: list[str] | None = None
) -> FeedDocument:
    """The feed's entries; what feedparser had to recover from is added to `warnings`."""
    headers = {"content-type": content_type} if content_type else {}
    import feedparser  # a tenth of start-up, and most runs check pages only

    body, declared = _without_internal_subset(body)
    if declared and warnings is not None:
        warnings.append("the feed's own entity declarations were set aside (not expanded)")
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    if not parsed.entries and not _recognised(parsed):
        raise ExtractError(_why_unusable(body, parsed))
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and warnings is not None:
        warnings.append(f"the feed is malformed, read as far as it goes ({_describe(problem)})")
    pattern = re.compile(source.match, re.IGNORECASE) if source.match else None
    entries: dict[str, Entry] = {}
    for raw in parsed.entries:
        entry = _entry(raw)
        if entry is None or entry.key in entries:
            continue
        if pattern and not pattern.search(_match_text(raw, entry)):
            continue
        entries[entry.key] = entry
    title = normalize_space(_text(parsed.feed.get("title", ""))) or None
    return FeedDocument(entries=tuple(entries.values()), title=title)


def _without_internal_subset(body: bytes) -> tuple[bytes, bool]:
    """The feed without the declarations inside its DOCTYPE (`<!DOCTYPE rss [...]>`), and
    whether it had any. A feed has no use for entities of its own, and nested ones ("billion
    laughs") make a parser expand a few hundred bytes into gigabytes, or a million callbacks
    before it gives up; without their declarations the references stay as text."""
    start = _DOCTYPE.search(body, 0, _DECLARATIONS_WITHIN)
    if start is None:
        return body, False
    end = body.find(b"]", start.end())
    close = body.find(b">", end + 1) if end >= 0 else -1
    if close < 0:
        return body, False
    return body[: start.end() - 1] + body[close:], True


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Decide between page and feed for `kind = "auto"`: the media type, else the first tags."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return True
    if media in ("text/html", "application/xhtml+xml"):
        return False
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def _recognised(parsed: Any) -> bool:
    """A feed without entries is still a feed when feedparser knew its format and, if it had
    to recover from an error, read its title: then the format is not a guess."""
    if not parsed.get("version"):
        return False
    return not parsed.get("bozo") or bool(parsed.feed.get("title"))


def _why_unusable(body: bytes, parsed: Any) -> str:
    if not body.strip():
        return "not a feed: the body is empty"
    if _LOOKS_LIKE_HTML.match(body[:2048]):
        return "not a feed: the response is an HTML page"
    if not parsed.get("version") and (root := _root_element(body)):
        known = _OTHER_FORMATS.get(root.lower())
        what = f", {known}" if known else ""
        return (
            f"not a feed: an XML document whose root element is <{root}>{what}; watcher reads"
            " RSS (0.9x, 1.0, 2.0) and Atom"
        )
    problem = parsed.get("bozo_exception")
    detail = f" ({_describe(problem)})" if problem else ""
    return f"not a usable feed: no entries could be read{detail}"


# Root elements of XML formats mistaken for feeds, named for the operator.
_OTHER_FORMATS = {
    "opml": "an OPML outline (a list of feeds, not a feed)",
    "channel": "the Channel Definition Format (CDF), obsolete since 2008",
    "urlset": "a sitemap",
    "sitemapindex": "a sitemap index",
    "html": "an XHTML page",
    "svg": "an SVG image",
}
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]{0,63})")
_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.S | re.I)


def _root_element(body: bytes) -> str | None:
    """The name of the first element, past the XML declaration, comments and doctype."""
    head, at = body[:4096].lstrip(b"\xef\xbb\xbf"), 0
    while found := _PROLOG.match(head, at):
        at = found.end()
    root = _ROOT.match(head[at:].lstrip())
    if root is None:
        return None
    name = root.group(1).decode("ascii")
    return one_line(name.split(":")[-1])  # a namespace prefix says nothing about the format


def _describe(problem: BaseException) -> str:
    return normalize_space(str(problem))[:200]


def _entry(raw: Any) -> Entry | None:
    title = normalize_space(_text(raw.get("title", "")))
    link = one_line(raw.get("link") or "") or None
    summary = normalize_space(_text(raw.get("summary", "")))[:SUMMARY_MAX]
    # dict.get: feedparser's own get() maps updated -> published with a deprecation warning.
    date = _iso(dict.get(raw, "updated_parsed") or dict.get(raw, "published_parsed"))
    key = one_line(str(raw.get("id") or "")) or link
    if not key:
        if not (title or summary):
            return None
        key = "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:24]
    return Entry(key=str(key), title=title, link=link, date=date, summary=summary)


def _match_text(raw: Any, entry: Entry) -> str:
    categories = " ".join(tag.get("term") or "" for tag in raw.get("tags", []) or [])
    return f"{entry.title}\n{entry.summary}\n{categories}"


def _text(value: str) -> str:
    """Plain text of a possibly-HTML feed field, without control characters or bidi overrides
    (`watcher.text`); markup never survives into a document."""
    value = clean(value)
    if "<" not in value and "&" not in value:
        return value
    try:
        return lxml.html.fragment_fromstring(value, create_parent="div").text_content()
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]*>", " ", value)


def _iso(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat().replace("+00:00", "Z")
