"""Noise that learns: the lines of a page that differ between two fetches seconds apart.

When a check finds a change in a page, the page is fetched again `recheck_after` later
(`check/pipeline.py`). A line that changed from the stored snapshot to the first fetch AND
again from the first fetch to the second is volatile: a visit counter, a clock, a rotating
banner. So are the lines it replaced in place and was replaced by (a banner rotating A, B,
C: all three). Volatile lines are learned for that source and left out of its documents from
then on, as an `ignore` pattern would be, until an operator forgets them (`watcher noise
--forget`).

A learned line is known by its key: its words without whitespace, each run of digits (with
the separators of numbers, dates and times) folded to `#`, so that "Visits: 1,204" and
"Visits: 1,305" are one line. A line that changed only between the two fetches (an edit
published in between) is not learned: the next check reports it; nor is one that changed
only from the snapshot to the first fetch (the edit the check found). Nor is a key that
would also hide a line that read the same in both fetches ("2026: 13" in a table whose
"2024: 61" did not move: learning "#:#" would hide a later edit of 2024), nor a key without
a letter (a figure alone in its cell). Headings, the title and the "Last Updated"
line are never learned (sections and dates hang on them). When more than half of a page's
lines would be learned, none is: that page is not noisy, it is different on every request,
and hiding it would hide the page.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from watcher.extract.document import HEADING_KINDS, Line, PageDocument, compare_key

MAX_LEARNED = 200  # volatile lines kept per source; the oldest are dropped first
MAX_SHARE = 0.5  # of a page's lines that may differ between two fetches for any to be learned
MAX_EXAMPLE = 300  # characters of a learned line kept to show an operator
_NUMBER = re.compile(r"\d+(?:[-.,:/]\d+)*")
_WORD = re.compile(r"[^\W\d_]")  # a letter, of any script
_NEVER = HEADING_KINDS | {"title", "updated"}


def noise_key(text: str) -> str:
    """What every version of a volatile line shares: its words with numbers folded."""
    return _fold(compare_key(text))


@dataclass(frozen=True, slots=True)
class Learned:
    key: str
    example: str  # the line as it read when it was learned
    learned_at: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class Noise:
    """The volatile lines learned for one source (`sources.volatile`, JSON)."""

    lines: tuple[Learned, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(line.key for line in self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)

    @classmethod
    def from_json(cls, text: str | None) -> Noise:
        if not text:
            return cls()
        return cls(tuple(Learned(*item) for item in json.loads(text)))

    def to_json(self) -> str | None:
        if not self.lines:
            return None
        data = [[line.key, line.example, line.learned_at] for line in self.lines]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def adding(self, lines: list[Line], now: datetime) -> Noise:
        """These lines learned as well; a key learned before keeps its first example."""
        known = self.keys
        added: dict[str, Learned] = {}
        for line in lines:
            key = noise_key(line.text)
            if key not in known and key not in added:
                added[key] = Learned(key, line.text[:MAX_EXAMPLE], now.isoformat())
        return Noise((*self.lines, *added.values())[-MAX_LEARNED:])


def can_be_noise(line: Line) -> bool:
    return line.kind not in _NEVER


def without_noise(document: PageDocument, keys: frozenset[str]) -> PageDocument:
    """The document without its volatile lines."""
    if not keys:
        return document
    kept = tuple(
        line
        for line in document.lines
        if not can_be_noise(line) or noise_key(line.text) not in keys
    )
    if len(kept) == len(document.lines):
        return document
    return PageDocument(
        lines=kept, title=document.title, updated=document.updated, documents=document.documents
    )


@dataclass(frozen=True, slots=True)
class Recheck:
    """What two fetches seconds apart showed: the lines to learn, or why none were."""

    lines: list[Line]
    refused: str | None = None


def learn(previous: PageDocument, first: PageDocument, second: PageDocument) -> Recheck:
    """The lines that changed from `previous` to `first` and again from `first` to `second`,
    with the lines they replaced and were replaced by (a banner rotating A -> B -> C: all
    three), from all three documents, the first fetch's first."""
    before, now, again = (_texts(document) for document in (previous, first, second))
    between = now.keys() ^ again.keys()  # what differs between the two fetches
    changed = before.keys() ^ now.keys()  # what the check found changed
    twice = {_fold(key) for key in between} & {_fold(key) for key in changed}
    if not twice:
        return Recheck([])
    for old, new in _replaced(list(before), list(now)):
        if _fold(new) in twice:
            twice.add(_fold(old))
    for old, new in _replaced(list(now), list(again)):
        if _fold(old) in twice:
            twice.add(_fold(new))
    read_alike = _all_keys(first) & _all_keys(second)  # in both fetches, in any role
    steady = {_fold(key) for key in read_alike}
    twice = {key for key in twice if key not in steady and _WORD.search(key)}
    if not twice:
        return Recheck([])
    hidden = sum(1 for key in now if _fold(key) in twice)
    if hidden > MAX_SHARE * len(now):
        return Recheck(
            [],
            refused=f"{hidden} of the page's {len(now)} lines differed between two fetches"
            " seconds apart; a page that different on every request is not learned as noise",
        )
    lines = [
        line for texts in (now, again, before) for key, line in texts.items() if _fold(key) in twice
    ]
    return Recheck(lines)


def _replaced(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    """Lines of `old` replaced one for one by lines of `new`, in place."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        pair
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag == "replace" and i2 - i1 == j2 - j1
        for pair in zip(old[i1:i2], new[j1:j2], strict=True)
    ]


def _fold(key: str) -> str:
    return _NUMBER.sub("#", key)


def _all_keys(document: PageDocument) -> set[str]:
    return {compare_key(line.text) for line in document.lines}


def _texts(document: PageDocument) -> dict[str, Line]:
    """The lines that could be noise, by their compare key."""
    return {compare_key(line.text): line for line in document.lines if can_be_noise(line)}
