"""The templates' filters for remote text: only http(s) links become links, and the keywords
a reader follows are marked (escaped first, in HTML)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlsplit

from jinja2 import pass_context
from markupsafe import Markup


def safe_url(url: str | None) -> str | None:
    """Only http(s) links from remote content become links: no javascript:, data:, ..."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url.strip()
    return None


@pass_context
def marked_keywords(context: Any, text: str | None) -> Markup | str:
    """HTML: the text escaped, each keyword the reader follows in a `<mark>`."""
    pattern = context.get("keyword_pattern")
    if not text or pattern is None:
        return text or ""
    pieces, last = [], 0
    for found in pattern.finditer(text):
        pieces += [escape(text[last : found.start()]), f"<mark>{escape(found.group())}</mark>"]
        last = found.end()
    pieces.append(escape(text[last:]))
    return Markup("".join(pieces))  # noqa: S704 (every piece of text was escaped above)


@pass_context
def marked_keywords_text(context: Any, text: str | None) -> str:
    """Plain text: each keyword the reader follows between `**`."""
    pattern = context.get("keyword_pattern")
    if not text or pattern is None:
        return text or ""
    return pattern.sub(lambda found: f"**{found.group()}**", text)
