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
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watcher.extract.document import Document, PageDocument
from watcher.extract.errors import ExtractError
from watcher.extract.kinds import pdf_sections
from watcher.extract.kinds.kind import Reading, Syntax
from watcher.extract.kinds.pdf_sections import MAX_LEVELS
from watcher.extract.kinds.pdf_text import Budget, Paragraph, page_lines, paragraphs_of
from watcher.text import clean

MAX_PAGES = 2_000

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
            pages = _pages(reader)
            paragraphs = _paragraphs(pages)
            outline = _outline(reader) if paragraphs else []
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
            raise ExtractError(_without_text(pages))
        lines = pdf_sections.lines(paragraphs, outline)
        title = _text(info.get("/Title")) or None
        updated = _date(info.get("/ModDate")) or _date(info.get("/CreationDate"))
        return PageDocument(lines=tuple(lines), title=title, updated=updated), None


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
    from pypdf.generic import DictionaryObject, IndirectObject, NameObject

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
                page[NameObject(name)] = value
        pages.append(page)
    return pages


def _paragraphs(pages: list[Any]) -> list[Paragraph]:
    budget = Budget()
    found: list[Paragraph] = []
    for number, page in enumerate(pages, start=1):
        found += paragraphs_of(number, page_lines(page, budget))
    return found


def _without_text(pages: list[Any]) -> str:
    """Why a PDF with no text is refused: what it holds instead."""
    pictured = sum(_has_images(page) for page in pages)
    if pictured:
        noun = "page" if pictured == 1 else "pages"
        return (
            f"the PDF is only images ({pictured:,} {noun} of pictures, no text):"
            " watcher reads text, not the words in a picture"
        )
    count = len(pages)
    return (
        f"the PDF has no text: its {count:,} page holds no words"
        if count == 1
        else f"the PDF has no text: its {count:,} pages hold no words"
    )


def _has_images(page: Any, depth: int = 0) -> bool:
    """Whether the page draws an image (an image XObject, or one inside a form XObject)."""
    try:
        resources = page.get("/Resources")
        objects = resources.get_object().get("/XObject") if resources is not None else None
        if objects is None:
            return False
        for reference in objects.get_object().values():
            drawn = reference.get_object()
            if drawn.get("/Subtype") == "/Image":
                return True
            if drawn.get("/Subtype") == "/Form" and depth < 3 and _has_images(drawn, depth + 1):
                return True
    except (AttributeError, KeyError, TypeError, ValueError):
        return False
    return False


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
