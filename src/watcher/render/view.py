"""What to show of a change: rows under section headings, cut after a number of changed lines.

One view feeds every renderer (terminal text, email text and HTML, web pages), so they all
agree on which lines appear, where sections start, and what "N more lines" means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from watcher.diff.change import INTRODUCTION, DiffLine, Mark, PageChange
from watcher.diff.words import word_marks
from watcher.extract.document import HEADING_KINDS

RowKind = Literal["section", "context", "added", "removed", "changed", "moved", "gap"]
CONTEXT_CHARS = 240  # context is there to orient the reader, not to be read in full


@dataclass(frozen=True, slots=True)
class Row:
    kind: RowKind
    text: str = ""
    old: str = ""
    marks: tuple[Mark, ...] = ()
    item: bool = False  # a list item
    new_section: bool = False  # a "section" row whose heading was added
    note: str = ""  # what the line's sign cannot say: "moved from Mine Ban Policy"


@dataclass
class PageView:
    rows: list[Row] = field(default_factory=list)
    hidden: int = 0  # changed lines left out by the limit


def section_label(section: tuple[str, ...], title: str | None = None) -> str:
    return " > ".join(section) if section else title or INTRODUCTION


def line_marks(line: DiffLine) -> tuple[Mark, ...]:
    """Word marks of a rewritten (or moved) line, computed now when the diff skipped them."""
    if line.marks:
        return line.marks
    if line.op == "moved" and not line.edited:
        return (("=", line.text),)
    computed = word_marks(line.old or "", line.text)
    return computed or (("-", line.old or ""), ("+", line.text))


def page_view(change: PageChange, *, limit: int | None = None, shorten: bool = False) -> PageView:
    """Rows of the change's hunks; at most `limit` changed lines; `shorten` trims context.

    A section row comes before the first row shown under it; the "Last Updated" line is left
    out, since every renderer states the date change on its own line.
    """
    view = PageView()
    shown = 0
    total = change.added + change.removed + change.changed + change.moved
    new_sections = {s.path for s in change.sections if s.status == "added"}
    for number, hunk in enumerate(change.hunks):
        labelled: tuple[str, ...] | None = None
        gap = number > 0
        for line in hunk:
            if limit is not None and shown >= limit and line.op != "context":
                view.hidden = total - shown
                return view
            if line.kind == "updated" or (line.op in ("context", "added") and _names_section(line)):
                continue  # said elsewhere: the date line, or the heading the section row names
            if gap:
                view.rows.append(Row("gap"))
                gap = False
            if line.section != labelled:
                labelled = line.section
                label = section_label(labelled, change.title)
                view.rows.append(Row("section", label, new_section=labelled in new_sections))
            view.rows.append(_row(line, shorten, change.title))
            if line.op != "context":
                shown += 1
    return view


def _names_section(line: DiffLine) -> bool:
    heading = line.kind in HEADING_KINDS and line.section[-1:] == (line.text,)
    return heading or line.kind == "title"


def line_note(line: DiffLine, title: str | None = None) -> str:
    """The words every output adds to a moved line, or to a part of a split or merged one."""
    if line.op == "moved":
        if line.origin == line.section:
            return "moved within this section"
        return f"moved from {section_label(line.origin or (), title)}"
    if line.joined == "old":
        return "split from the line above"
    if line.joined == "new":
        return "joined to the line above"
    return ""


def _row(line: DiffLine, shorten: bool, title: str | None) -> Row:
    item = line.kind == "item"
    note = line_note(line, title)
    if line.op in ("changed", "moved"):
        return Row(line.op, line.text, line.old or "", line_marks(line), item, note=note)
    text = line.text
    if shorten and line.op == "context" and len(text) > CONTEXT_CHARS:
        text = text[:CONTEXT_CHARS].rsplit(" ", 1)[0] + " …"
    return Row(line.op, text, item=item)


@dataclass(frozen=True, slots=True)
class Pair:
    """One row of a side-by-side diff: the old line (left) and the new one (right)."""

    kind: RowKind
    left: tuple[Mark, ...] = ()
    right: tuple[Mark, ...] = ()
    label: str = ""
    note: str = ""


def side_by_side(change: PageChange, *, limit: int | None = None) -> tuple[list[Pair], int]:
    """The inline view's rows as pairs; the second value counts changed lines left out."""
    view = page_view(change, limit=limit)
    pairs = []
    for row in view.rows:
        if row.kind in ("section", "gap"):
            pairs.append(Pair(row.kind, label=row.text + (" (new)" if row.new_section else "")))
        elif row.kind in ("changed", "moved"):
            left = tuple(mark for mark in row.marks if mark[0] != "+")
            right = tuple(mark for mark in row.marks if mark[0] != "-")
            pairs.append(Pair(row.kind, left, right, note=row.note))
        elif row.kind == "added":
            pairs.append(Pair("added", (), (("+", row.text),)))
        elif row.kind == "removed":
            pairs.append(Pair("removed", (("-", row.text),), ()))
        else:
            pairs.append(Pair("context", (("=", row.text),), (("=", row.text),)))
    return pairs, view.hidden
