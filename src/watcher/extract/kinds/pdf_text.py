"""A PDF page's text as it is placed: runs -> lines -> paragraphs, with what was typed into it.

A PDF has no lines or paragraphs, only runs of text drawn at a position in a size. The runs
pypdf reports for a page are put on one line while their baselines stay within half a size of
each other, so a superscript mark ("Ana Lima¹, Bao Tran²"), a word in a smaller size or a
subscript stays on its line; a line's size is the size most of its letters have. A drop letter
(a single capital set at least `DROP_LETTER` times larger, before a line that starts in
lower case) is joined to the word it begins; any other capital on its own stays a line.
Lines of one size with no more than `PARAGRAPH_GAP` sizes of space between them are a
paragraph.

The text a form holds is not drawn in the page's content but kept in its fields (`/Annots`
widgets with a value) and in free-text notes: a text or choice field's value is put on the
line its box stands on, after the words left of it (the label printed on the page), or, with no
line there, on a line of its own named by the field's name; a free-text note is a paragraph of
its own where it stands. Both are remote input: at most `MAX_ANNOTATIONS` are read from a
document, each cut at `MAX_FIELD_CHARS`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from watcher.text import clean

PARAGRAPH_GAP = 1.6  # space between two lines, in font sizes, that starts a new paragraph
SAME_LINE = 0.5  # baselines this many sizes apart (the larger) are still one line
DROP_LETTER = 1.5  # a capital this much larger than the line after it begins that line's word
MAX_ANNOTATIONS = 5_000  # fields and notes read from one document
MAX_FIELD_CHARS = 10_000


@dataclass
class Run:
    x: float
    y: float
    size: float
    text: str


@dataclass
class TextLine:
    y: float
    runs: list[Run] = field(default_factory=list)
    alone: bool = False  # a note or a field of its own: a paragraph by itself
    # Letters by size, kept as runs are added (a line of a glyph a run has thousands of runs:
    # counting them anew for each would be quadratic).
    sizes: Counter[float] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for run in self.runs:
            self.sizes[run.size] += len(run.text.strip())

    def add(self, run: Run, at: int | None = None) -> None:
        self.runs.insert(len(self.runs) if at is None else at, run)
        self.sizes[run.size] += len(run.text.strip())

    @property
    def size(self) -> float:
        """The size most of the line's letters have."""
        return max(self.sizes, key=lambda size: (self.sizes[size], size))

    @property
    def text(self) -> str:
        return " ".join(clean("".join(run.text for run in self.runs)).split())

    def takes(self, run: Run) -> bool:
        return abs(run.y - self.y) <= SAME_LINE * max(self.size, run.size)


@dataclass
class Paragraph:
    page: int
    size: float
    text: str


class Budget:
    """How many more fields and notes this document may have read."""

    def __init__(self, left: int = MAX_ANNOTATIONS) -> None:
        self.left = left

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def page_lines(page: Any, budget: Budget) -> list[TextLine]:
    """The page's text lines in the order they are drawn, with its fields' values and notes."""
    lines: list[TextLine] = []

    def visit(text: str, cm: Any, tm: Any, _font: Any, size: float) -> None:
        if not text:
            return
        scale = abs(tm[3] * cm[3]) or 1.0
        run = Run(tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5], round(size * scale, 1), text)
        if not text.strip():  # the space pypdf puts between runs: kept on the line it ends
            if lines and text != "\n":
                lines[-1].add(Run(run.x, lines[-1].y, lines[-1].size, " "))
            return
        if lines and lines[-1].takes(run):
            lines[-1].add(run)
        else:
            lines.append(TextLine(run.y, [run]))

    page.extract_text(visitor_text=visit)
    for kind, rect, label, value in _annotations(page, budget):
        _place(lines, kind, rect, label, value)
    return lines


def paragraphs_of(number: int, lines: list[TextLine]) -> list[Paragraph]:
    """A page's lines joined into paragraphs (page `number`), a drop letter into its word."""
    found: list[Paragraph] = []
    current: Paragraph | None = None
    last_y: float | None = None
    letter: TextLine | None = None  # a capital on its own: a drop letter, if a word follows
    alone = False  # the line before was a paragraph by itself
    for line in lines:
        text = line.text
        if not text:
            continue
        if len(text) == 1 and text.isupper():
            if letter is not None:
                found.append(Paragraph(number, letter.size, letter.text))
            letter = line
            continue
        if letter is not None:
            if text[:1].islower() and letter.size > line.size * DROP_LETTER:
                text = letter.text + text  # "T" + "his paper" -> "This paper"
            else:
                found.append(Paragraph(number, letter.size, letter.text))
                current = None
            letter = None
        size = line.size
        gap = None if last_y is None else last_y - line.y
        if (
            current is not None
            and not line.alone
            and not alone
            and current.size == size
            and gap is not None
            and 0 <= gap <= PARAGRAPH_GAP * size
        ):
            current.text = _join(current.text, text)
        else:
            current = Paragraph(number, size, text)
            found.append(current)
        last_y = line.y
        alone = line.alone
    if letter is not None:
        found.append(Paragraph(number, letter.size, letter.text))
    return found


def _join(first: str, second: str) -> str:
    if first.endswith("-") and first[-2:-1].isalpha() and second[:1].islower():
        return first[:-1] + second  # a word hyphenated at the end of a line
    return f"{first} {second}"


def _annotations(page: Any, budget: Budget) -> list[tuple[str, list[float], str, str]]:
    """(kind, rect, label, text) of each filled text or choice field and free-text note."""
    found: list[tuple[str, list[float], str, str]] = []
    try:
        annotations = page.get("/Annots")
        annotations = annotations.get_object() if annotations is not None else []
        for reference in annotations:
            annotation = reference.get_object()
            subtype = annotation.get("/Subtype")
            if subtype not in ("/Widget", "/FreeText"):
                continue
            if not budget.take():
                break
            rect = [float(number) for number in annotation.get("/Rect", [0, 0, 0, 0])][:4]
            if len(rect) < 4:
                continue
            if subtype == "/FreeText":
                text = _text(annotation.get("/Contents"))
                if text:
                    found.append(("note", rect, "", text))
                continue
            if _inherited(annotation, "/FT") not in ("/Tx", "/Ch"):
                continue
            value = _inherited(annotation, "/V")
            if isinstance(value, list):  # a list box with several chosen
                value = ", ".join(_text(item) for item in value)
            text = _text(value)
            if text:
                label = _text(_inherited(annotation, "/TU")) or _text(_inherited(annotation, "/T"))
                found.append(("field", rect, label, text))
    except (AttributeError, KeyError, TypeError, ValueError):
        return found  # a broken annotation list: the page's own text stands without it
    return found


def _inherited(annotation: Any, name: str) -> Any:
    """A field's attribute, from the widget or the field it belongs to (a few levels up)."""
    node = annotation
    for _ in range(8):
        if name in node:
            return node[name].get_object() if hasattr(node[name], "get_object") else node[name]
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(clean(str(value)[:MAX_FIELD_CHARS]).split())


def _place(lines: list[TextLine], kind: str, rect: list[float], label: str, text: str) -> None:
    """A field's value onto the line its box stands on, after the words left of it; a note, or
    a field with no line beside it, as a line of its own where it stands."""
    left, bottom, top = min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[1], rect[3])
    size = Counter(line.size for line in lines).most_common(1)[0][0] if lines else 10.0
    if kind == "field":
        beside = [line for line in lines if bottom - 2 <= line.y <= top + 2]
        if beside:
            line = beside[0]
            at = sum(1 for run in line.runs if run.x < left)
            line.add(Run(left, line.y, line.size, f" {text} "), at)
            return
        text = f"{label}: {text}" if label else text
    own = TextLine(top, [Run(left, top, size, text)], alone=True)
    at = next((index for index, line in enumerate(lines) if line.y < top), len(lines))
    lines.insert(at, own)
