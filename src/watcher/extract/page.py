"""HTML -> PageDocument: the part of a page that matters, as lines under their section headings.

Headings become section paths ("Mine Ban Policy > Policy"); paragraphs, list items and table
rows become lines; footnotes are attributed to the section that cites them, so a new footnote
counts as a change of that section rather than of whatever happens to precede the notes.

Only data tables become rows (`header: value`). A table that lays out the page (a banner, a
side menu beside the content, a footer: the old web's way, still common) is walked like any
container, its cells like blocks: see `is_layout_table`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import lxml.html
from lxml import etree

from watcher.config.sources import Source
from watcher.extract.document import Line, PageDocument, SectionPath
from watcher.extract.errors import ExtractError
from watcher.extract.linked import base_url, linked_documents, with_document_lines
from watcher.extract.main import main_content
from watcher.extract.noise import without_noise
from watcher.extract.select import compile_selector

# Elements whose text is never content (a button's is, where `_is_content_button` says so).
DROPPED_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "select",
    "button",
    "input",
    "textarea",
    "map",
)
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "ul",
        "caption",
    ]
)
HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
FOOTNOTES_CONTAINER = re.compile(r"(?i)(?:^|[\s_-])(?:foot-?notes?|endnotes?)(?:$|[\s_-])")
FOOTNOTES_SECTION: SectionPath = ("Footnotes",)
# A "Last Updated" line is short; a paragraph that mentions an update is not the page's date.
UPDATED_LINE_MAX = 160
# Candidates only: plain `contains()` is cheap; `_is_hidden` decides on the few it finds.
# Attribute existence only: testing the style's text in XPath cost more than the parse.
_BUTTONS = etree.XPath(".//button")
# What a button says when it works the page rather than naming its content.
CONTROL_WORDS = frozenset(
    [
        "menu",
        "main menu",
        "toggle navigation",
        "navigation",
        "search",
        "close",
        "open",
        "more",
        "less",
        "show more",
        "show less",
        "read more",
        "see more",
        "expand",
        "collapse",
        "expand all",
        "collapse all",
        "share",
        "print",
        "back to top",
        "\u00d7",  # a close button's cross
    ]
)
_MAYBE_HIDDEN = etree.XPath(".//*[@hidden or @aria-hidden or @style]")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f"
_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
# Zero-width characters and soft hyphens, C1 controls, bidi embeddings, overrides and
# isolates (`watcher.text`). C0 controls and DEL never reach a line: `parse_html` drops them.
_INVISIBLE = str.maketrans(
    dict.fromkeys(
        [0x200B, 0x200C, 0x200D, 0xFEFF, 0xAD, *range(0x80, 0xA0), *range(0x202A, 0x202F)]
    )
    | dict.fromkeys(range(0x2066, 0x206A))
)


def normalize_space(text: str) -> str:
    """One line of text from the page: white space folded, invisible characters gone."""
    if not text.isascii():  # ASCII has no invisible characters, and translating is slow
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


def parse_html(text: str) -> lxml.html.HtmlElement:
    """The page's tree, without C0 controls (tab and newlines kept) and DEL: no line can carry
    them to a terminal, and lxml, whose parser keeps them, refuses them when a tail is moved
    (`drop_tree`), which raised ValueError on such pages. UTF-8 never uses these bytes inside
    a character: deleting them is safe, and cheap (~0.4 us per KB)."""
    raw = text.encode("utf-8", "surrogatepass").translate(None, _CONTROL_BYTES)
    try:
        return lxml.html.document_fromstring(raw, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"the page cannot be parsed as HTML ({exc})") from None


@dataclass(frozen=True)
class Selection:
    """The part of a page that matters, as parsed, before it becomes a document."""

    root: lxml.html.HtmlElement
    parts: list[lxml.html.HtmlElement]

    def fingerprint(self) -> str:
        """A hash of the selected markup as served. Equal fingerprints mean an equal
        document (for the same settings), so a page whose selected part did not change needs
        neither cleaning nor extraction."""
        digest = hashlib.sha256()
        for part in self.parts:
            digest.update(etree.tostring(part, with_tail=False))
        return digest.hexdigest()

    def page_title(self) -> str | None:
        element = self.root.find(".//title")
        text = normalize_space(element.text_content()) if element is not None else ""
        return text or None


def select(text: str, source: Source, warnings: list[str] | None = None) -> Selection:
    """Parse, drop the excluded elements, select the part that matters, and drop scripts
    and the like from it (a nonce in an inline script is no reason to extract again).

    Excluding comes first because an exclude selector may look outside the selected part
    (`body.promo .teaser`); what is left of the selected part decides the document. Only
    the selected part is swept: sweeping the whole page cost more than parsing it.
    """
    root = parse_html(text)
    for selector in source.exclude:
        _drop_all(compile_selector(selector)(root))
    parts = _select(root, source.select)
    if source.select is None and source.content == "main":
        found = main_content(root)
        if found is not None:
            parts = [found]
        elif warnings is not None:
            warnings.append("no main content found on the page: its whole body is kept")
    for part in parts:
        for button in _BUTTONS(part):
            if not _is_hidden(button) and _is_content_button(button):
                _unwrap(button)
        etree.strip_elements(part, *DROPPED_TAGS, with_tail=False)
    return Selection(root, parts)


def _is_content_button(button: lxml.html.HtmlElement) -> bool:
    """Whether a button's text is the page's content rather than a control's label: a button
    that is (part of) a heading (an accordion's section name), one that discloses what it
    names (`aria-expanded`, `aria-controls`: an accordion, a tab, Swagger UI's operations),
    or one that holds several pieces of text (an operation's method, path and summary). A
    button that only works the page ("Print", "Close", "Go"), or names the working it does
    ("Menu", "Show more": `CONTROL_WORDS`) however it is marked up, is the page's chrome."""
    attributes = button.attrib
    words = " ".join(button.text_content().split()).strip(" .:…").casefold()
    if not words or words in CONTROL_WORDS:
        return False
    if "aria-expanded" in attributes or "aria-controls" in attributes:
        return True
    if any(ancestor.tag in HEADING_LEVELS for ancestor in button.iterancestors()):
        return True
    worded = 0
    for child in button:
        if isinstance(child.tag, str) and child.text_content().strip():
            worded += 1
            if worded > 1:
                return True
    return False


def _unwrap(button: lxml.html.HtmlElement) -> None:
    """The button's content in its place as one run of text (a button is phrasing content:
    the blocks a script puts inside one are set in a row), its pieces kept apart as the page
    shows them (a script builds `<span>GET</span><span>/pet</span>` with nothing between)."""
    for element in button.iterdescendants():
        if isinstance(element.tag, str):
            if element.tag in BLOCK_TAGS:
                element.tag = "span"
            element.tail = " " + (element.tail or "")
    button.drop_tag()


def _drop_hidden(part: lxml.html.HtmlElement) -> None:
    """Hidden elements are not content either. Left out of `select` (and so out of the
    fingerprint): the scan cost a third as much as parsing the page."""
    _drop_all(element for element in _MAYBE_HIDDEN(part) if _is_hidden(element))


def _is_hidden(element: lxml.html.HtmlElement) -> bool:
    attributes = element.attrib
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    return bool(_HIDDEN_STYLE.search(attributes.get("style", "")))


def document_of(
    selection: Selection,
    source: Source,
    noise: frozenset[str] = frozenset(),
    url: str | None = None,
) -> PageDocument:
    """The selected part as sectioned lines; `url`, where the page was served from (after
    redirects), is what its relative links are read against, as its `<base href>` is."""
    for part in selection.parts:
        _drop_hidden(part)
    builder = _Builder(_title_heading(selection.parts))
    for part in selection.parts:
        builder.add(part)
    lines = builder.finish()
    lines = _without_ignored(lines, source.ignore)
    lines, updated = _mark_updated(lines, source.updated_pattern)
    title = builder.title or selection.page_title()
    documents: tuple[tuple[str, str], ...] = ()
    if source.documents:
        base = base_url(selection.root, url or source.url)
        found = linked_documents(selection.parts, base, source.documents)
        lines, documents = with_document_lines(lines, found)
    page = PageDocument(lines=tuple(lines), title=title, updated=updated, documents=documents)
    return without_noise(page, noise)


def extract_page(text: str, source: Source) -> PageDocument:
    return document_of(select(text, source), source)


def _drop_all(elements: Iterable[object]) -> None:
    for element in elements:
        if isinstance(element, lxml.html.HtmlElement) and element.getparent() is not None:
            element.drop_tree()


def _select(root: lxml.html.HtmlElement, selector: str | None) -> list[lxml.html.HtmlElement]:
    if selector is None:
        body = root.find("body")
        return [body if body is not None else root]
    found = [item for item in compile_selector(selector)(root) if isinstance(item, etree._Element)]
    if not found:
        raise ExtractError(f"select {selector!r} matched nothing on the page")
    chosen = set(found)
    # Keep the outermost matches only: a nested match would repeat its text.
    return [el for el in found if not any(a in chosen for a in el.iterancestors())]


def _title_heading(parts: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement | None:
    """The first heading is the document's title when it sits alone above every other level."""
    headings = [el for part in parts for el in part.iter(*HEADING_LEVELS)]
    if not headings:
        return None
    first = headings[0]
    level = HEADING_LEVELS[first.tag]
    others = headings[1:]
    if others and all(HEADING_LEVELS[el.tag] > level for el in others):
        return first
    return None


class _Builder:
    """Walks elements in document order, turning blocks into lines under the current section."""

    def __init__(self, title_heading: lxml.html.HtmlElement | None) -> None:
        self.title_heading = title_heading
        self.title: str | None = None
        self.lines: list[Line] = []
        self.buffer: list[str] = []
        self.kind = "text"
        self.headings: list[tuple[int, str]] = []
        self.section: SectionPath = ()  # the texts of `headings`, kept for every line to share
        self.citations: dict[str, SectionPath] = {}
        self.footnote_anchor: str | None = None
        self.footnotes: list[tuple[int, str | None]] = []

    def add(self, element: lxml.html.HtmlElement) -> None:
        """A selected part, without its tail: text after its end tag is not in the selection."""
        tail, element.tail = element.tail, None
        try:
            self._walk(element, depth=0)
        finally:
            element.tail = tail
        self._flush()

    def finish(self) -> list[Line]:
        """Move each footnote under the section that cites it."""
        for index, anchor in self.footnotes:
            line = self.lines[index]
            section = self.citations.get(anchor, FOOTNOTES_SECTION) if anchor else FOOTNOTES_SECTION
            self.lines[index] = Line(section, line.kind, line.text)
        return self.lines

    def _flush(self) -> None:
        if not self.buffer:
            return
        text = normalize_space("".join(self.buffer))
        self.buffer.clear()
        if not text:
            return
        if self.kind == "footnote":
            self.footnotes.append((len(self.lines), self.footnote_anchor))
        self.lines.append(Line(self.section, self.kind, text))

    def _walk(self, element: lxml.html.HtmlElement, depth: int) -> None:
        tag = element.tag
        if not isinstance(tag, str):  # an entity or a leftover comment node
            self._tail(element)
            return
        if depth > 200:  # pathological nesting: keep the text, skip the structure
            self.buffer.append(" " + element.text_content() + " ")
        elif tag in HEADING_LEVELS:
            self._heading(element)
        elif tag == "table" and is_layout_table(element):
            self._block(element, depth)  # its cells are blocks, their content walked
        elif tag == "table":
            self._table(element)
        elif tag == "br":
            self._flush()
        elif tag in BLOCK_TAGS or tag in ("td", "th", "tr"):
            self._block(element, depth)
        else:
            if tag == "a":
                self._cite(element)
            self._children(element, depth)
        self._tail(element)

    def _children(self, element: lxml.html.HtmlElement, depth: int) -> None:
        if element.text:
            self.buffer.append(element.text)
        for child in element:
            self._walk(child, depth + 1)

    def _tail(self, element: lxml.html.HtmlElement) -> None:
        if element.tail:
            self.buffer.append(element.tail)

    def _block(self, element: lxml.html.HtmlElement, depth: int) -> None:
        self._flush()
        saved_kind, saved_anchor = self.kind, self.footnote_anchor
        if self.kind != "footnote" and _is_footnotes_container(element):
            self.kind = "footnote"
        elif self.kind == "footnote":
            self.footnote_anchor = _anchor_of(element) or self.footnote_anchor
        elif element.tag == "li":
            self.kind = "item"
        self._children(element, depth)
        self._flush()
        self.kind, self.footnote_anchor = saved_kind, saved_anchor

    def _heading(self, element: lxml.html.HtmlElement) -> None:
        self._flush()
        text = normalize_space(element.text_content())
        if not text:
            return
        if element is self.title_heading:
            self.title = text
            self.lines.append(Line((), "title", text))
            return
        level = HEADING_LEVELS[element.tag]
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        self.section = tuple(text for _, text in self.headings)
        self.lines.append(Line(self.section, element.tag, text))

    def _cite(self, element: lxml.html.HtmlElement) -> None:
        href = element.get("href") or ""
        if href.startswith("#") and len(href) > 1 and self.kind != "footnote":
            self.citations.setdefault(href[1:], self.section)

    def _table(self, table: lxml.html.HtmlElement) -> None:
        self._flush()
        for link in table.iter("a"):
            self._cite(link)
        caption = table.find("caption")
        if caption is not None:
            self.buffer.append(caption.text_content())
            self._flush()
        saved = self.kind
        self.kind = "footnote" if saved == "footnote" else "row"
        for row in table_rows(table):
            self.buffer.append(row)
            self._flush()
        self.kind = saved


# The table's own cells (not those of a table nested in one), in any row group.
_CELLS = "(./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr)/*[self::td or self::th]"
# A cell that holds the page rather than a value: a heading, a list, a nested table, a
# quotation, preformatted text or a form; two paragraphs or more; three text-only <div>s or
# more (div soup). One <p> or two <div>s around a value are how some editors write cells.
_CONTAINER_CELL = etree.XPath(
    f"{_CELLS}[.//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6"
    " or self::ul or self::ol or self::dl or self::table or self::blockquote or self::pre"
    " or self::form] or count(.//p) >= 2 or count(.//div[not(*)]) >= 3][1]"
)
_WIDE_ROW = etree.XPath("(./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr)[count(td | th) > 1][1]")
_ROWS = etree.XPath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")


def is_layout_table(table: lxml.html.HtmlElement) -> bool:
    """Does this table lay out the page rather than hold data? Yes when it says so
    (`role="presentation"`), when one of its cells holds the page's content (see
    `_CONTAINER_CELL`), or when no row has two cells (a stack of boxes). Two XPath
    queries for the whole table, whatever its size."""
    if (table.get("role") or "").lower() in ("presentation", "none"):
        return True
    return bool(_CONTAINER_CELL(table)) or not _WIDE_ROW(table)


def table_rows(table: lxml.html.HtmlElement) -> Iterator[str]:
    """Rows as `header: value` lines; a header row names the columns of the rows below it."""
    header: list[str] | None = None
    for position, row in enumerate(_ROWS(table)):
        cells = [cell for cell in row if cell.tag in ("td", "th")]
        texts = [normalize_space(cell.text_content()) for cell in cells]
        if not any(texts):
            continue
        if position == 0 and len(cells) > 1 and all(cell.tag == "th" for cell in cells):
            header = texts
            continue
        if header and len(header) == len(texts):
            pairs = zip(header, texts, strict=True)
            yield "; ".join(f"{name}: {value}" if name else value for name, value in pairs if value)
        elif cells[0].tag == "th" and len(cells) > 1:
            yield f"{texts[0]}: " + " | ".join(text for text in texts[1:] if text)
        else:
            yield " | ".join(text for text in texts if text)


def _is_footnotes_container(element: lxml.html.HtmlElement) -> bool:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return bool(FOOTNOTES_CONTAINER.search(names))


def _anchor_of(element: lxml.html.HtmlElement) -> str | None:
    """The id a footnote is linked by: its own, or that of an anchor at its start."""
    if element.get("id"):
        return element.get("id")
    for child in element.iter("a", "span", "sup"):
        anchor = child.get("id") or child.get("name")
        if anchor:
            return anchor
    return None


def _without_ignored(lines: list[Line], patterns: tuple[str, ...]) -> list[Line]:
    if not patterns:
        return lines
    compiled = [re.compile(pattern) for pattern in patterns]
    return [line for line in lines if not any(regex.search(line.text) for regex in compiled)]


def _mark_updated(lines: list[Line], pattern: str) -> tuple[list[Line], str | None]:
    regex = re.compile(pattern)
    for index, line in enumerate(lines):
        if len(line.text) > UPDATED_LINE_MAX:
            continue
        found = regex.search(line.text)
        if found:
            date = found.group("date") if "date" in regex.groupindex else found.group(1)
            lines[index] = Line(line.section, "updated", line.text)
            return lines, normalize_space(date)
    return lines, None
