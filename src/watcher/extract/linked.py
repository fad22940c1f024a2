"""The documents a page links to, for a source that follows them (`documents = ...`).

A link counts when its absolute URL (http or https; read against the address the page was
served from and its `<base href>`, as a browser reads it) matches the source's pattern
(`documents = true`: a PDF, by its path's extension). Its label is the link's text
("Country report 2012 (PDF)"), else its file's name; two links of one label to different
files are told apart by their file names. Each followed document becomes a line of kind
"document" with its label, in the section the link stands in: the line that is nothing but
the link becomes that line; a link inside a longer line gets a line of its own after it. So
a new linked document is an added "document" line, which the change names ("New document:
..."), and the check follows it (`check/documents.py`). At most `MAX_LINKS` links are read
from a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import lxml.html

from watcher.extract.document import Line

MAX_LINKS = 200
MAX_LABEL = 200


def base_url(root: lxml.html.HtmlElement, served: str) -> str:
    """What the page's relative links are read against: its `<base href>`, read against the
    address it was served from, else that address."""
    base = root.find(".//base[@href]")
    href = (base.get("href") or "").strip() if base is not None else ""
    if not href:
        return served
    joined = urljoin(served, href)
    return joined if urlsplit(joined).scheme in ("http", "https") else served


def linked_documents(
    parts: Iterable[lxml.html.HtmlElement], base: str, pattern: str
) -> list[tuple[str, str, str]]:
    """(URL, label, the link's text) of each document linked from the selected parts, each
    URL once, in page order."""
    wanted = re.compile(pattern)
    found: dict[str, str] = {}
    for part in parts:
        for link in part.iter("a"):
            href = (link.get("href") or "").strip()
            if not href or len(found) >= MAX_LINKS:
                continue
            url = urldefrag(urljoin(base, href))[0]
            if urlsplit(url).scheme not in ("http", "https") or not wanted.search(url):
                continue
            found.setdefault(url, " ".join(link.text_content().split())[:MAX_LABEL])
    labels = {url: text for url, text in found.items()}
    for tell in (file_name, _path):  # equal labels told apart by file name, else by path
        seen: dict[str, int] = {}
        for label in labels.values():
            seen[label] = seen.get(label, 0) + 1
        labels = {
            url: label if label and seen[label] == 1 else _apart(found[url], tell(url))
            for url, label in labels.items()
        }
    return [(url, labels[url], text) for url, text in found.items()]


def _apart(text: str, name: str) -> str:
    return f"{text} ({name})" if text else name


def _path(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/")) or urlsplit(url).netloc


def file_name(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1]) or urlsplit(url).netloc


def with_document_lines(
    lines: list[Line], documents: list[tuple[str, str, str]]
) -> tuple[list[Line], tuple[tuple[str, str], ...]]:
    """The lines with a "document" line for each linked document, where its link stands;
    the documents as the page document keeps them, (URL, label)."""
    out = list(lines)
    whole: dict[str, int] = {}  # a line that is nothing but a link's text: where it is
    for at, line in enumerate(lines):
        if not line.is_heading:
            whole.setdefault(line.text, at)
    after: dict[int, list[Line]] = {}
    for _, label, text in documents:
        found = whole.pop(text, None) if text else None
        if found is not None:
            out[found] = Line(lines[found].section, "document", label)
            continue
        within = next(
            (at for at, line in enumerate(lines) if text and text in line.text), len(lines) - 1
        )
        section = lines[within].section if lines else ()
        after.setdefault(within, []).append(Line(section, "document", label))
    placed: list[Line] = []
    for index, line in enumerate(out):
        placed.append(line)
        placed.extend(after.get(index, ()))
    if not lines:
        placed.extend(after.get(-1, ()))
    return placed, tuple((url, label) for url, label, _ in documents)
