"""Sitemaps (sitemaps.org): the pages a site lists, each a line; with `documents`, followed.

A `<urlset>` lists pages (`<loc>`), a `<sitemapindex>` lists further sitemaps; either becomes
one line per address, in order, named by its path. A page added to the sitemap is a line
added, one dropped a line removed; `<lastmod>` and the other hints are left out, as a site
rewrites them on every build. With `documents = "..."` (a pattern of the addresses) the
listed pages are followed as the documents a page links to are (`extract/linked.py`,
`check/documents.py`): each matching address a source of the country, at most
`max_documents` of them; `documents = true` follows every address listed.

The XML is read with entities left unexpanded, no DTD and no network, and at most
`MAX_URLS` addresses (the sitemaps protocol's own limit) are taken.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from watcher.extract.document import Document, Line, PageDocument
from watcher.extract.errors import ExtractError
from watcher.extract.kinds.kind import Reading, Syntax

MAX_URLS = 50_000
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(urlset|sitemapindex)[\s>]")


class SitemapKind:
    name = "sitemap"
    what = "a sitemap"
    media_types: tuple[str, ...] = ("application/xml", "text/xml")
    options: frozenset[str] = frozenset({"documents"})
    selector: Syntax | None = None
    claims: frozenset[str] = frozenset()
    fetches: tuple[str, ...] = ("http",)

    def sniff(self, body: bytes, media: str) -> bool:
        head = body[:2048]
        return b"sitemaps.org/schemas/sitemap" in head and bool(_ROOT.search(head))

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        from lxml import etree

        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        try:
            root = etree.fromstring(reading.body, parser=parser)
        except etree.XMLSyntaxError as exc:
            raise ExtractError(f"not a readable sitemap: {exc}") from None
        if root is None or etree.QName(root).localname not in ("urlset", "sitemapindex"):
            raise ExtractError("not a sitemap: its root is neither <urlset> nor <sitemapindex>")
        section = "Sitemaps" if etree.QName(root).localname == "sitemapindex" else "Pages"
        found: dict[str, None] = {}
        for loc in root.iter(f"{{{NAMESPACE}}}loc", "loc"):
            url = " ".join((loc.text or "").split())
            if urlsplit(url).scheme in ("http", "https"):
                found.setdefault(url, None)
                if len(found) > MAX_URLS:
                    raise ExtractError(
                        f"the sitemap lists more than {MAX_URLS:,} addresses (the protocol's limit)"
                    )
        pattern = reading.source.documents
        wanted = re.compile(pattern) if pattern else None
        lines: list[Line] = []
        documents: list[tuple[str, str]] = []
        for url in found:
            label = _path(url)
            followed = wanted is not None and wanted.search(url) is not None
            lines.append(Line((section,), "document" if followed else "item", label))
            if followed:
                documents.append((url, label))
        return (
            PageDocument(lines=tuple(lines), title=reading.source.name, documents=tuple(documents)),
            None,
        )


def _path(url: str) -> str:
    """An address as the sitemap's line names it: its path and query on its host."""
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    return f"{parts.netloc}{path}" + (f"?{parts.query}" if parts.query else "")
