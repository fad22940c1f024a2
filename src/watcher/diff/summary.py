"""A page change in the words people use: per section, what happened to how many of what.

`Mine Ban Policy: 2 paragraphs rewritten, 1 added · Casualties: 56 → 57 · Last Updated:
02 November 2011 → 29 October 2012`. The log, the review queue, the pages, the feeds, the
subjects and `watcher check` all say it this way, and every count is of lines the change
shows: the Last Updated line is said once as its dates, a heading that names a new or gone
section is said as that section, a changed figure or date is named rather than counted, a
paragraph split in two (or two run together) is one phrase, not three lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from watcher.diff.lines import INTRODUCTION, DiffLine, SectionChange
from watcher.extract.document import HEADING_KINDS


class PageChange(Protocol):
    """What the summary reads of a page change (`change.PageChange`, whose `summary()` and
    `phrases()` call this module)."""

    @property
    def title(self) -> str | None: ...
    @property
    def updated(self) -> bool: ...
    @property
    def updated_old(self) -> str | None: ...
    @property
    def updated_new(self) -> str | None: ...
    @property
    def renamed(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def sections(self) -> tuple[SectionChange, ...]: ...
    @property
    def hunks(self) -> tuple[tuple[DiffLine, ...], ...]: ...
    @property
    def documents(self) -> tuple[Linked, ...]: ...


class Linked(Protocol):
    """A linked document new or gone (`change.LinkedDocument`)."""

    @property
    def status(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def phrase(self) -> str: ...


MAX_FIGURES = 3  # figures named in one summary; more are counted as lines rewritten
MAX_SECTIONS = 6  # sections named in one summary; the rest are counted together
MAX_FIGURE_CHARS = 40
MAX_EDITS = 3  # a line with more figures changed than this is counted, not named
LABEL_CHARS = 60

NOUNS = {
    "text": ("paragraph", "paragraphs"),
    "document": ("linked document", "linked documents"),
    "item": ("list item", "list items"),
    "row": ("row", "rows"),
    "footnote": ("footnote", "footnotes"),
    "title": ("title", "titles"),
}
HEADING = ("heading", "headings")
VERBS = ("rewritten", "added", "removed", "moved")

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
# Only digits, dates and the marks between them: "56", "3,100", "65/48", "02 November 2011".
# The rest of a figure an edit stops inside of: digits and the marks within a number or date.
_FIGURE_RUN = re.compile(r"[\d.,:/%-]*")
_FIGURE_RUN_END = re.compile(r"[\d.,:/%-]*$")
_FIGURE = re.compile(rf"(?:\s|\d[\d,.:/%]*|[-\u2013\u2014/.,%()+]|(?:{_MONTHS})\b)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Figure:
    """Numbers or dates that changed inside a line, and nothing else did: `Casualties: 56 →
    57`, `Voting record: 65/48 → 66/29, 2010 → 2011`."""

    label: str
    edits: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"{self.label}: {self.edits_said()}"

    def edits_said(self) -> str:
        return ", ".join(f"{old} → {new}" for old, new in self.edits)


@dataclass
class _Tally:
    """One top-level section's lines, counted as the summary says them."""

    name: str
    status: str = "changed"  # "added" or "removed" when its heading came or went
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (verb, kind) -> lines
    figures: list[Figure] = field(default_factory=list)  # named in the section's phrase
    split: int = 0  # paragraphs split (each into `split_into` parts in all)
    split_into: int = 0
    joined: int = 0  # paragraphs run into others (`joined_into` lines in all)
    joined_into: int = 0
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)

    def add(self, verb: str, kind: str) -> None:
        key = (verb, "heading" if kind in HEADING_KINDS else kind)
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def lines(self) -> int:
        return sum(self.counts.values()) + self.split_into + self.joined

    @property
    def said(self) -> bool:
        subsections = self.sections_added or self.sections_removed
        return bool(self.lines or self.figures or subsections or self.status != "changed")

    def phrase(self) -> str:
        parts: list[str] = []
        if self.status == "added":
            parts.append("new section")
        elif self.status == "removed":
            parts.append("section removed")
        if self.status != "added":  # a new section's subsections are new with it
            parts += [f"new section {name}" for name in self.sections_added]
        parts += [f"section {name} removed" for name in self.sections_removed]
        parts += [figure.edits_said() for figure in self.figures]
        parts += _counted(self.counts, silent="added" if self.status == "added" else "")
        if self.split:
            parts.append(f"{_count(self.split, NOUNS['text'])} split into {self.split_into}")
        if self.joined:
            parts.append(f"{_count(self.joined, NOUNS['text'])} joined into {self.joined_into}")
        return f"{self.name}: {', '.join(parts)}" if parts else self.name


def figures(line: DiffLine) -> Figure | None:
    """The figures or dates a rewritten line changed, when that is all it changed. Edits
    with only figures between them are one ("8 December 2010" → "2 December 2011")."""
    if line.op != "changed" or line.joined or not line.marks or line.kind == "updated":
        return None
    marks = line.marks
    spans: list[list[int]] = []  # indices into `marks`, each span's first to last
    current: list[int] | None = None
    gap: int | None = None  # unchanged figures since the last edit: joined if one follows
    for index, (op, text) in enumerate(marks):
        if op != "=":
            if current is None:
                current = []
                spans.append(current)
            elif gap is not None:
                current.append(gap)
            current.append(index)
            gap = None
        elif current is not None and len(text) <= MAX_FIGURE_CHARS and _FIGURE.fullmatch(text):
            gap = index
        else:
            current, gap = None, None
    edits = []
    for span in spans:
        before = marks[span[0] - 1][1] if span[0] > 0 else ""
        after = marks[span[-1] + 1][1] if span[-1] + 1 < len(marks) else ""
        if before.endswith("[") and after.startswith("]"):
            continue  # a footnote's number: not a figure
        # The whole figure, not its changed digits: 2026-[-10-14-]{+11-20+} is a date.
        # (Only as far as a figure can be long: a search over a long run of digits would
        # be quadratic, in the writer's commit.)
        lead = _run(_FIGURE_RUN_END.search(before[-MAX_FIGURE_CHARS:])).lstrip(".,:/%-")
        trail = _run(_FIGURE_RUN.match(after[:MAX_FIGURE_CHARS])).rstrip(".,:/-")
        old = lead + "".join(marks[i][1] for i in span if marks[i][0] != "+") + trail
        new = lead + "".join(marks[i][1] for i in span if marks[i][0] != "-") + trail
        old, new = old.strip(), new.strip()
        if not old or not new or max(len(old), len(new)) > MAX_FIGURE_CHARS:
            return None
        if not (_FIGURE.fullmatch(old) and _FIGURE.fullmatch(new)):
            return None
        if not any(ch.isdigit() for ch in old + new):
            return None
        edits.append((old, new))
    if not edits or len(edits) > MAX_EDITS:
        return None
    return Figure(_label(line), tuple(edits))


def _run(found: re.Match[str] | None) -> str:
    return found.group(0) if found else ""


def page_figures(change: PageChange) -> list[Figure]:
    """The figures a change names, in order (at most MAX_FIGURES)."""
    found = []
    for hunk in change.hunks:
        for line in hunk:
            figure = figures(line)
            if figure is not None:
                found.append(figure)
                if len(found) == MAX_FIGURES:
                    return found
    return found


def _label(line: DiffLine) -> str:
    label, colon, _ = line.text.partition(":")
    if colon and 0 < len(label.strip()) <= LABEL_CHARS and not _FIGURE.fullmatch(label):
        return label.strip()
    return line.section[0] if line.section else INTRODUCTION


def phrases(change: PageChange, *, dates: bool = True, renames: bool = True) -> list[str]:
    """The change as short phrases: its dates, renamed sections, figures, then per top-level
    section what happened to its lines. A page that shows the dates or the renames on lines
    of their own leaves them out here (`dates`, `renames`)."""
    out: list[str] = []
    if change.updated and dates:
        old, new = change.updated_old or "(none)", change.updated_new or "(none)"
        out.append(f"Last Updated: {old} → {new}")
    if renames:
        out += [f"Section renamed: {old} → {new}" for old, new in change.renamed]
    out += [document.phrase for document in change.documents]
    told = tell(change)
    # A figure labelled with its section's name is said in that section's phrase.
    within = {tally.name for tally in told.sections}
    out += [str(figure) for figure in told.figures if figure.label not in within]
    out += [tally.phrase() for tally in told.sections[:MAX_SECTIONS]]
    rest = told.sections[MAX_SECTIONS:]
    if rest:
        lines = sum(tally.lines for tally in rest)
        out.append(f"{len(rest)} more sections ({lines} line{'s' if lines != 1 else ''})")
    return out


@dataclass
class Told:
    """What the summary says of a change's lines: figures named, sections counted, and the
    headings of gone sections said as those sections."""

    figures: list[Figure]
    sections: list[_Tally]
    headings: int
    documents: int = 0  # linked documents' lines, said as "New document: ..."

    @property
    def lines(self) -> int:
        """How many of the lines the change shows the summary accounts for (all of them)."""
        said = len(self.figures) + sum(tally.lines for tally in self.sections)
        return said + self.headings + self.documents


def tell(change: PageChange) -> Told:
    """Each line the change shows, put where the summary says it."""
    named: list[Figure] = []
    headings = 0
    tallies: dict[str, _Tally] = {}
    for section in change.sections:
        if section.status == "changed" or not section.path:
            continue
        tally = tallies.setdefault(section.path[0], _Tally(section.path[0]))
        if len(section.path) == 1:
            tally.status = section.status
        elif section.status == "added":
            tally.sections_added.append(section.path[-1])
        else:
            tally.sections_removed.append(section.path[-1])
    gone = {section.path for section in change.sections if section.status == "removed"}
    linked = {(document.status, document.label) for document in change.documents}
    documents = 0
    for hunk in change.hunks:
        for index, line in enumerate(hunk):
            if not _shown(line) or line.joined:
                continue  # a part after the first of a split or merge: counted with it
            status = {"added": "new", "removed": "removed"}.get(line.op)
            if line.kind == "document" and (status, line.text) in linked:
                documents += 1  # said as the document new or removed
                continue
            top = line.section[0] if line.section else (change.title or INTRODUCTION)
            tally = tallies.setdefault(top, _Tally(top))
            parts = _parts(hunk, index)
            if parts > 1 and hunk[index + 1].joined == "old":
                tally.split, tally.split_into = tally.split + 1, tally.split_into + parts
            elif parts > 1:
                tally.joined, tally.joined_into = tally.joined + parts, tally.joined_into + 1
            elif line.kind in HEADING_KINDS and line.section in gone and _names(line):
                headings += 1  # said as the section removed
            elif (figure := figures(line)) is not None and len(named) < MAX_FIGURES:
                named.append(figure)
                if figure.label == top:
                    tally.figures.append(figure)
            else:
                tally.add(VERBS[("changed", "added", "removed", "moved").index(line.op)], line.kind)
    return Told(named, [tally for tally in tallies.values() if tally.said], headings, documents)


def _names(line: DiffLine) -> bool:
    return line.kind in HEADING_KINDS and line.section[-1:] == (line.text,)


def _shown(line: DiffLine) -> bool:
    """Is this a line the change shows as a line (as `render.view` shows them): not the
    context, not the Last Updated line, not a heading that only names its section?"""
    if line.op == "context" or line.kind == "updated":
        return False
    return not (line.op == "added" and (_names(line) or line.kind == "title"))


def _parts(hunk: tuple[DiffLine, ...], index: int) -> int:
    """How many lines from `index` on are one split or merged paragraph (1: none)."""
    end = index + 1
    while end < len(hunk) and hunk[end].joined:
        end += 1
    return end - index


def _counted(counts: dict[tuple[str, str], int], silent: str) -> list[str]:
    """`2 paragraphs rewritten`, `1 added`, `1 row removed`: the noun said when it changes,
    the verb left out when it is `silent` (a new section's lines are all added)."""
    out = []
    last_noun = None
    for verb in VERBS:
        kinds = [(kind, n) for (v, kind), n in counts.items() if v == verb]
        if not kinds:
            continue
        pieces = []
        for kind, number in kinds:
            noun = HEADING if kind == "heading" else NOUNS.get(kind, ("line", "lines"))
            if len(kinds) == 1 and noun == last_noun:
                pieces.append(str(number))
            else:
                pieces.append(_count(number, noun))
            last_noun = noun
        said = " and ".join(pieces)
        out.append(said if verb == silent else f"{said} {verb}")
    return out


def _count(number: int, noun: tuple[str, str]) -> str:
    return f"{number} {noun[0] if number == 1 else noun[1]}"
