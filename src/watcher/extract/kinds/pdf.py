"""PDF: a report's text (pypdf), page after page, paragraphs as lines, headings as sections.

A paragraph is a run of text lines of one font size with no more than about one and a half
lines of space between them (a PDF has no paragraphs, only lines placed on a page). A line
set larger than the body text (the size most of the characters have) is a heading; the
largest size makes the top-level sections. A PDF whose headings are not set larger but which
has an outline (bookmarks) is sectioned by its outline instead, each entry starting where its
page starts. The document's modification date (else its creation date) is its "Last
Updated".

pypdf was chosen over poppler's `pdftotext` by measurement (bench/README, "PDF"): the same
words on the team's reports, at ~1 ms a page in the process against a program started per
document, and no system package to install. A PDF that cannot be read fails the check with
the reason: encrypted, broken, without any text (scanned pages), or declaring more pages
than `MAX_PAGES`.

The page tree is remote input too, and its `/Count` may lie: pages are found by walking the
tree with a visited set (`_pages`), so a page named 30,000 times is read once, a node that
names its ancestor is walked once, and more than `MAX_PAGES` real pages are refused, whatever
was declared. AES-encrypted PDFs that open without a password (the common kind since PDF
1.6) are read (pypdf with `cryptography`), and so are Brotli streams (PDF 2.0, `brotli`).
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.extract.document import Document, Line, PageDocument
from watcher.extract.errors import ExtractError
from watcher.extract.kinds.kind import Reading, Syntax
from watcher.text import clean

MAX_PAGES = 2_000
HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
PARAGRAPH_GAP = 1.6  # space between two lines, in font sizes, that starts a new paragraph
MAX_LEVELS = 3

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are about the file, not us


class PdfKind:
    name = "pdf"
    what = "a PDF"
    media_types: tuple[str, ...] = ("application/pdf",)
    options: frozenset[str] = frozenset()
    selector: Syntax | None = None
    claims: frozenset[str] = frozenset()
    fetches: tuple[str, ...] = ("http",)

    def sniff(self, body: bytes, media: str) -> bool:
        return media == "application/pdf" or body[:1024].lstrip().startswith(b"%PDF-")

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

        try:
            reader = PdfReader(io.BytesIO(reading.body))
            if reader.is_encrypted and not _opens_without_password(reader):
                raise ExtractError("the PDF is encrypted with a password watcher does not have")
            declared = _declared_pages(reader)
            if declared > MAX_PAGES:
                raise ExtractError(f"the PDF declares {declared:,} pages (more than {MAX_PAGES:,})")
            paragraphs = _paragraphs(_pages(reader))
            outline = _outline(reader)
            info: Mapping[str, Any] = reader.metadata or {}
        except ExtractError:
            raise
        except FileNotDecryptedError:
            raise ExtractError(
                "the PDF is encrypted with a password watcher does not have"
            ) from None
        except DependencyError as exc:  # a filter or cipher pypdf has no library for
            raise ExtractError(f"the PDF needs what watcher cannot read: {exc}") from None
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ExtractError(f"not a readable PDF: {exc}") from None
        except RecursionError:
            raise ExtractError("not a readable PDF: its structure is nested too deeply") from None
        if not paragraphs:
            raise ExtractError(
                "the PDF has no text to read (scanned pages? watcher does not read images)"
            )
        lines = _lines(paragraphs, outline)
        title = _text(info.get("/Title")) or None
        updated = _date(info.get("/ModDate")) or _date(info.get("/CreationDate"))
        return PageDocument(lines=tuple(lines), title=title, updated=updated), None


@dataclass
class _Paragraph:
    page: int
    size: float
    text: str


def _opens_without_password(reader: Any) -> bool:
    """Many PDFs are encrypted with an empty user password (only copying is "protected")."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an unsupported algorithm is the same answer: no
        return False


def _declared_pages(reader: Any) -> int:
    try:
        count = reader.trailer["/Root"]["/Pages"]["/Count"]
        return int(count)
    except (KeyError, TypeError, ValueError):
        return 0


INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")  # from a page's ancestors


def _pages(reader: Any) -> list[Any]:
    """The document's pages in order, each once: the page tree walked depth first with a
    visited set (a node or page seen before is skipped, so neither a shared page nor a loop
    is walked twice), refused past `MAX_PAGES` real pages."""
    from pypdf import PageObject
    from pypdf.generic import DictionaryObject, IndirectObject

    root = reader.trailer["/Root"].get_object()["/Pages"]
    pages: list[Any] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, dict[str, Any]]] = [(root, {})]
    while stack:
        reference, inherited = stack.pop()
        if isinstance(reference, IndirectObject):
            key = (reference.idnum, reference.generation)
            if key in seen:
                continue
            seen.add(key)
        node = reference.get_object()
        if not isinstance(node, DictionaryObject):
            continue
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            inherited = {**inherited, **{name: node[name] for name in INHERITED if name in node}}
            kids = node.get("/Kids")
            kids = kids.get_object() if kids is not None else []
            stack.extend((kid, inherited) for kid in reversed(list(kids)))
            continue
        if len(pages) >= MAX_PAGES:
            raise ExtractError(f"the PDF has more than {MAX_PAGES:,} pages")
        page = PageObject(reader, reference if isinstance(reference, IndirectObject) else None)
        page.update(node)
        for name, value in inherited.items():
            if name not in page:
                page[name] = value
        pages.append(page)
    return pages


def _paragraphs(pages: list[Any]) -> list[_Paragraph]:
    paragraphs: list[_Paragraph] = []
    for number, page in enumerate(pages, start=1):
        runs: list[tuple[float, float, str]] = []

        def visit(
            text: str,
            cm: Any,
            tm: Any,
            _font: Any,
            size: float,
            runs: list[tuple[float, float, str]] = runs,
        ) -> None:
            if text.strip():
                scale = abs(tm[3] * cm[3]) or 1.0
                runs.append((tm[5] * cm[3] + cm[5], round(size * scale, 1), text))

        page.extract_text(visitor_text=visit)
        current: _Paragraph | None = None
        last_y: float | None = None
        for y, size, text in runs:
            text = " ".join(clean(text).split())
            if not text:
                continue
            gap = None if last_y is None else last_y - y
            same = (
                current is not None
                and current.size == size
                and gap is not None
                and 0 <= gap <= PARAGRAPH_GAP * size
            )
            if same and current is not None:
                current.text = _join(current.text, text)
            else:
                current = _Paragraph(number, size, text)
                paragraphs.append(current)
            last_y = y
    return paragraphs


def _join(first: str, second: str) -> str:
    if first.endswith("-") and first[-2:-1].isalpha() and second[:1].islower():
        return first[:-1] + second  # a word hyphenated at the end of a line
    return f"{first} {second}"


def _outline(reader: Any) -> list[tuple[int, int, str]]:
    """(page, level, title) of each outline entry, in order."""
    found: list[tuple[int, int, str]] = []

    def walk(entries: Any, level: int) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry, level + 1)
                continue
            page = reader.get_destination_page_number(entry)
            title = " ".join(clean(str(entry.title)).split())
            if page is not None and page >= 0 and title and level < MAX_LEVELS:
                found.append((page + 1, level, title))

    try:
        walk(reader.outline, 0)
    except Exception:  # a broken outline is no reason to fail: the text stands without it
        return []
    return found


def _lines(paragraphs: list[_Paragraph], outline: list[tuple[int, int, str]]) -> list[Line]:
    sizes: Counter[float] = Counter()
    for paragraph in paragraphs:
        sizes[paragraph.size] += len(paragraph.text)
    body = sizes.most_common(1)[0][0]
    heading_sizes = sorted({size for size in sizes if size >= body * HEADING_RATIO}, reverse=True)[
        :MAX_LEVELS
    ]
    level_of = {size: level for level, size in enumerate(heading_sizes)}
    marks: dict[int, list[tuple[int, str]]] = {}
    if not heading_sizes:  # sectioned by the outline instead
        for page, level, title in outline:
            marks.setdefault(page, []).append((level, title))
    lines: list[Line] = []
    path: list[str] = []
    page_seen = 0
    for paragraph in paragraphs:
        if paragraph.page != page_seen:
            for page in range(page_seen + 1, paragraph.page + 1):
                for level, title in marks.get(page, []):
                    path = [*path[:level], title]
                    lines.append(Line(tuple(path), f"h{level + 1}", title))
            page_seen = paragraph.page
        heading = level_of.get(paragraph.size)
        if heading is not None:
            path = [*path[:heading], paragraph.text]
            lines.append(Line(tuple(path), f"h{heading + 1}", paragraph.text))
        else:
            lines.append(Line(tuple(path), "text", paragraph.text))
    return lines


def _text(value: Any) -> str:
    return " ".join(clean(str(value)).split()) if value else ""


def _date(value: Any) -> str | None:
    """A PDF date (`D:20261014093000+00'00'`) as "14 October 2026"."""
    text = str(value or "").strip()
    if text.startswith("D:"):
        text = text[2:]
    try:
        moment = datetime.strptime(text[:8], "%Y%m%d")
    except ValueError:
        return None
    return f"{moment.day} {moment:%B %Y}"
