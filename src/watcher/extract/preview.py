"""What a source keeps, as a person previews it before saving it (`check/preview.py`
fetches and reads; this is the shape of what it found): sections and their lines, the kind,
the "Last Updated" date, warnings, and the lines `exclude` and `ignore` took away."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from watcher.extract.document import Document, FeedDocument


@dataclass(frozen=True, slots=True)
class Section:
    path: tuple[str, ...]  # the headings above it; () for what comes before any
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Preview:
    kind: str
    last_updated: str | None
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    removed: tuple[str, ...]  # lines `exclude` and `ignore` took away, in page order

    @property
    def line_count(self) -> int:
        return sum(len(section.lines) for section in self.sections)


def sections_of(document: Document) -> tuple[Section, ...]:
    """A document's lines grouped under their headings, in order; a feed's entries each a
    section of its own (title, then date, link and summary)."""
    if isinstance(document, FeedDocument):
        return tuple(
            Section(
                (entry.title,),
                tuple(line for line in (entry.date, entry.link, entry.summary) if line),
            )
            for entry in document.entries
        )
    found: list[Section] = []
    for line in document.lines:
        if line.is_heading:
            continue
        if found and found[-1].path == line.section:
            found[-1] = Section(line.section, (*found[-1].lines, line.text))
        else:
            found.append(Section(line.section, (line.text,)))
    return tuple(found)


def _texts(document: Document) -> list[str]:
    return [line for section in sections_of(document) for line in section.lines]


def taken_away(whole: Document, kept: Document) -> tuple[str, ...]:
    """The lines of `whole` that `kept` lacks (each as often as it is missing)."""
    left = Counter(_texts(kept))
    removed = []
    for line in _texts(whole):
        if left[line]:
            left[line] -= 1
        else:
            removed.append(line)
    return tuple(removed)
