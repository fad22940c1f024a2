"""The main content of a page: its article, without the navigation, "related" links, share
buttons and footer around it (`content = "main"`, for a page source without `select`).

trafilatura, the field's reference for this, finds the content and hands it back in its own
XML (`head rend="h2"`, `p`, `list`/`item`, `table`/`row`/`cell`, ...). That is turned back
into HTML elements here, so the page's builder reads it like any selected part: headings
still make sections, tables rows, and "Last Updated", `ignore` and footnotes work as ever.
"""

from __future__ import annotations

import copy
from typing import Any

import lxml.html
from lxml import etree

# trafilatura's elements -> HTML; anything else keeps its text inside a <span>.
_HTML_OF = {
    "p": "p",
    "list": "ul",
    "item": "li",
    "table": "table",
    "row": "tr",
    "quote": "blockquote",
    "code": "pre",
    "lb": "br",
}
_DROPPED = frozenset({"graphic", "fw", "note"})


def main_content(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The page's main content as an HTML <div>, or None when none was found (a page of
    links, say). `root` is left as it was."""
    import trafilatura  # ~0.2 s to import: only the processes that need it pay

    found: Any = trafilatura.bare_extraction(
        copy.deepcopy(root),  # it cleans the tree it is given
        output_format="python",
        include_formatting=True,  # headings keep their level: they are our sections
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        with_metadata=False,
        deduplicate=False,  # a line repeated on the page is still content
    )
    body = getattr(found, "body", None)
    if body is None or not "".join(body.itertext()).strip():
        return None
    div = _html(body)
    assert div is not None
    div.tag = "div"
    return div


def _html(element: etree._Element) -> lxml.html.HtmlElement | None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _DROPPED:
        return None
    if tag == "head":
        rend = element.get("rend") or ""
        name = rend if rend in ("h1", "h2", "h3", "h4", "h5", "h6") else "h2"
    elif tag == "cell":
        name = "th" if element.get("role") == "head" else "td"
    elif tag == "list" and element.get("rend") == "ol":
        name = "ol"
    else:
        name = _HTML_OF.get(tag, "span")
    converted = lxml.html.Element(name)
    converted.text = element.text
    for child in element:
        inner = _html(child)
        if inner is not None:
            converted.append(inner)
            inner.tail = child.tail
        elif child.tail:  # the dropped element's text after it stays
            _append_text(converted, child.tail)
    return converted


def _append_text(element: lxml.html.HtmlElement, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text
