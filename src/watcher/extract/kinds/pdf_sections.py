"""A PDF's paragraphs as sectioned lines: its headings, from its outline or from its sizes.

The outline (bookmarks) is preferred when it matches the pages: when most of its entries'
titles are printed on the pages they point to. Each entry is then a heading where its title
stands (or where its page starts, for one not printed), at the outline's level.

Without such an outline, a paragraph is a heading when it is set larger than the body text (the
size most of the letters have) and is shaped as headings are: short (`MAX_HEADING_WORDS`), with
more than one letter, not a run of labels ("(a) (b)", a drop letter) and not a caption
("Figure 1: ..."). The sizes such paragraphs use, largest first, are the heading levels (at
most `MAX_LEVELS`); a larger size used by no heading-shaped paragraph is no level, so a
figure's labels or a display quote do not push the title down the tree.
"""

from __future__ import annotations

import re
from collections import Counter

from watcher.extract.document import Line
from watcher.extract.kinds.pdf_text import Paragraph

HEADING_RATIO = 1.15  # a paragraph this much larger than the body text may be a heading
MAX_LEVELS = 3
MAX_HEADING_WORDS = 16
MATCHING_OUTLINE = 0.5  # the share of an outline's entries printed on their page

LABEL = re.compile(r"^[(\[]?(?:[0-9]{1,3}|[A-Za-z]|[ivxIVX]{1,4})[)\].:]?$")
CAPTION = re.compile(r"^(?:fig(?:ure)?|table|chart|graph|map|photo|plate|exhibit)\.?\s*\d", re.I)

Outline = list[tuple[int, int, str]]  # (page, level, title) of each entry, in order


def lines(paragraphs: list[Paragraph], outline: Outline) -> list[Line]:
    marks = _outline_marks(paragraphs, outline)
    if marks is not None:
        return _sectioned(paragraphs, *marks)
    levels = _levels(paragraphs)
    headings = {
        index: (levels[paragraph.size], paragraph.text)
        for index, paragraph in enumerate(paragraphs)
        if paragraph.size in levels and heading_shaped(paragraph.text)
    }
    page_marks: dict[int, list[tuple[int, str]]] = {}
    if not headings:  # nothing set as a heading: the outline, however loosely it matches
        for page, level, title in outline:
            page_marks.setdefault(page, []).append((level, title))
    return _sectioned(paragraphs, headings, page_marks)


def heading_shaped(text: str) -> bool:
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS:
        return False
    if sum(character.isalpha() for character in text) < 2:
        return False
    if all(LABEL.match(word) for word in words):
        return False
    return not CAPTION.match(text)


def _levels(paragraphs: list[Paragraph]) -> dict[float, int]:
    sizes: Counter[float] = Counter()
    for paragraph in paragraphs:
        sizes[paragraph.size] += len(paragraph.text)
    body = sizes.most_common(1)[0][0]
    shaped: Counter[float] = Counter()
    used: Counter[float] = Counter()
    for paragraph in paragraphs:
        if paragraph.size >= body * HEADING_RATIO:
            used[paragraph.size] += 1
            shaped[paragraph.size] += heading_shaped(paragraph.text)
    # A size is a heading level when at least half of what is set in it is shaped as headings.
    heading_sizes = sorted((size for size in used if shaped[size] * 2 >= used[size]), reverse=True)
    return {size: level for level, size in enumerate(heading_sizes[:MAX_LEVELS])}


def _key(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())


def _outline_marks(
    paragraphs: list[Paragraph], outline: Outline
) -> tuple[dict[int, tuple[int, str]], dict[int, list[tuple[int, str]]]] | None:
    """The outline's headings where its titles stand, if it matches the pages; else None."""
    if not outline:
        return None
    by_page: dict[int, list[int]] = {}
    for index, paragraph in enumerate(paragraphs):
        by_page.setdefault(paragraph.page, []).append(index)
    headings: dict[int, tuple[int, str]] = {}
    page_marks: dict[int, list[tuple[int, str]]] = {}
    for page, level, title in outline:
        key = _key(title)
        found = next(
            (
                index
                for index in by_page.get(page, [])
                if index not in headings and key and _key(paragraphs[index].text).startswith(key)
            ),
            None,
        )
        if found is None:
            page_marks.setdefault(page, []).append((level, title))
        else:
            headings[found] = (level, title)
    if len(headings) < MATCHING_OUTLINE * len(outline):
        return None
    return headings, page_marks


def _sectioned(
    paragraphs: list[Paragraph],
    headings: dict[int, tuple[int, str]],
    page_marks: dict[int, list[tuple[int, str]]],
) -> list[Line]:
    found: list[Line] = []
    path: list[str] = []
    page_seen = 0
    for index, paragraph in enumerate(paragraphs):
        if paragraph.page != page_seen:
            for page in range(page_seen + 1, paragraph.page + 1):
                for level, title in page_marks.get(page, []):
                    path = [*path[:level], title]
                    found.append(Line(tuple(path), f"h{len(path)}", title))
            page_seen = paragraph.page
        heading = headings.get(index)
        if heading is None:
            found.append(Line(tuple(path), "text", paragraph.text))
            continue
        level, title = heading
        path = [*path[:level], title]
        found.append(Line(tuple(path), f"h{len(path)}", title))
        rest = paragraph.text[len(title) :].strip() if paragraph.text.startswith(title) else ""
        if rest and len(rest) > 2:  # an outline title that starts a longer paragraph
            found.append(Line(tuple(path), "text", rest))
    return found
