"""How much a change matters: a score from 0 to 1, with its reasons, each a short phrase.

The score is explainable: each sign of importance adds its weight of what is left,
`score = 1 - (1 - w1)(1 - w2)...`, so any one strong sign makes a change notable, two make
it more so, and no number of signs passes 1. Signs that a change means little then scale it
down. The README's "How much a change matters" gives the formula; the weights below are it.

Signs of importance, with their weights:
- how much of the watched text changed, on a log curve (`EXTENT`): 1% of the text is 0.15
  of the weight, 10% is 0.52, half is 0.85, all of it is 1;
- a section added or removed (`SECTION`);
- a figure or date changed in a line, the Last Updated date aside (`FIGURE`);
- one of the operator's key terms in a changed line or entry (`KEY_TERM`): anywhere in a
  line whose words changed, only in the edit itself where the edit is a spelling fix;
- a new entry in a feed, or a new document a page links to (`NEW_ENTRY`), a linked
  document removed (`SECTION`).

Signs of little meaning, when they are all the change is (`MINOR` scales the score down):
a spelling fix (each edit within one word, a letter or two apart, or only its case or
punctuation), text only moved, only footnote numbers changed, only the Last Updated date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.diff.change import Change, DiffLine, FeedChange, PageChange
from watcher.diff.summary import page_figures
from watcher.extract.document import HEADING_KINDS

EXTENT = 0.7
SECTION = 0.4
FIGURE = 0.3
KEY_TERM = 0.5
NEW_ENTRY = 0.6
UPDATED_ENTRY = 0.3
MINOR = 0.3
CURVE = 100  # extent = log(1 + CURVE * share) / log(1 + CURVE)
MAX_WORD = 40  # longer than this, an edit is not a spelling fix (and no distance is measured)

_FOOTNOTE = re.compile(r"^\[\d{1,4}\]$")
_PUNCTUATION = re.compile(r"[\W_]+")


class Terms:
    """The operator's key terms, found in text and named as the operator wrote them."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.written = {term.strip().casefold(): term.strip() for term in terms if term.strip()}
        self.pattern = key_term_pattern(self.written.values())

    def found(self, texts: Iterable[str]) -> list[str]:
        if self.pattern is None:
            return []
        found: dict[str, None] = {}
        for text in texts:
            for match in self.pattern.finditer(text):
                said = match.group(0)
                found.setdefault(self.written.get(said.casefold(), said), None)
        return list(found)


@dataclass(frozen=True, slots=True)
class Significance:
    score: float
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"significance": self.score, "reasons": list(self.reasons)}


def key_term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """Terms matched at the start of a word, in any case: "accede" finds "acceded"."""
    cleaned = sorted({term.strip() for term in terms if term.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(term) for term in cleaned) + ")", re.I)


def significance(change: Change, terms: Sequence[str] = ()) -> Significance:
    """The change's score and the reasons for it (the module says how)."""
    said = Terms(terms)
    if isinstance(change, FeedChange):
        return _feed(change, said)
    return _page(change, said)


def _combine(signs: list[tuple[float, str]]) -> tuple[float, list[str]]:
    left = 1.0
    for weight, _ in signs:
        left *= 1.0 - weight
    return 1.0 - left, [reason for _, reason in signs if reason]


def _page(change: PageChange, terms: Terms) -> Significance:
    lines = [line for hunk in change.hunks for line in hunk if line.op != "context"]
    edited = [line for line in lines if line.kind != "updated"]
    changed = sum(_changed_chars(line) for line in edited)
    total = sum(change.size) if change.size else _hunk_chars(change)
    share = min(1.0, changed / total) if total else 1.0
    signs: list[tuple[float, str]] = []
    if changed:
        extent = math.log1p(CURVE * share) / math.log1p(CURVE)
        signs.append((EXTENT * extent, f"{_percent(share)} of the watched text changed"))
    sections = sorted({line.section[0] for line in edited if line.section})
    if sections:
        signs.append((0.0, f"in {', '.join(sections)}"))
    for section in change.sections:
        if section.status != "changed" and section.path:
            verb = "added" if section.status == "added" else "removed"
            signs.append((SECTION, f"section {verb}: {' > '.join(section.path)}"))
            break
    new = [document for document in change.documents if document.status == "new"]
    if new:
        signs.append((NEW_ENTRY, f"new document: {new[0].label}"))
    elif change.documents:
        signs.append((SECTION, f"document removed: {change.documents[0].label}"))
    figures = page_figures(change)
    if figures:
        signs.append((FIGURE, f"figures changed: {figures[0]}"))
    found = terms.found(text for line in edited for text in _searched(line))
    if found:
        signs.append((KEY_TERM, f"key terms: {', '.join(found)}"))
    score, reasons = _combine(signs)
    minor = _minor(change, edited)
    if minor:
        score *= MINOR
        reasons.append(minor)
    return Significance(round(score, 3), tuple(reasons))


def _feed(change: FeedChange, terms: Terms) -> Significance:
    new = [item for item in change.entries if item.status == "new"]
    updated = [item for item in change.entries if item.status == "updated"]
    signs: list[tuple[float, str]] = []
    if new:
        signs.append((NEW_ENTRY, f"{len(new)} new entr{'y' if len(new) == 1 else 'ies'}"))
    if updated:
        signs.append(
            (UPDATED_ENTRY, f"{len(updated)} entr{'y' if len(updated) == 1 else 'ies'} updated")
        )
    texts = (
        text or "" for item in change.entries for text in (item.entry.title, item.entry.summary)
    )
    found = terms.found(texts)
    if found:
        signs.append((KEY_TERM, f"key terms: {', '.join(found)}"))
    score, reasons = _combine(signs)
    return Significance(round(score, 3), tuple(reasons))


def _searched(line: DiffLine) -> tuple[str, ...]:
    """Where a changed line's key terms are looked for: the whole line, old and new, unless
    its edit is only a spelling fix or a footnote number (then the edit alone); nowhere in a
    line that only moved, or a part of a split or merge whose words did not change."""
    if line.op in ("changed", "moved") and not line.edited:
        return ()
    if line.op in ("changed", "moved") and not any(op != "=" for op, _ in line_marks(line)):
        return ()
    if line.op == "changed" and (_spelling_only(line) or _footnotes_only(line)):
        return tuple(text for op, text in line_marks(line) if op != "=")
    return (line.text, line.old or "")


def _changed_chars(line: DiffLine) -> int:
    if line.op in ("added", "removed"):
        return len(line.text)
    if line.op == "moved" and not line.edited:
        return 0
    return sum(len(text.strip()) for op, text in line_marks(line) if op != "=")


def _hunk_chars(change: PageChange) -> int:
    """For a change stored before its page's size was kept: the text around it."""
    return sum(len(line.text) + len(line.old or "") for hunk in change.hunks for line in hunk)


def line_marks(line: DiffLine) -> tuple[tuple[str, str], ...]:
    """A rewritten line's marks; the whole line out and in when the diff left them out."""
    return line.marks or (("-", line.old or ""), ("+", line.text))


def _percent(share: float) -> str:
    if share < 0.01:
        return "under 1%"
    return f"{round(share * 100)}%"


def _minor(change: PageChange, lines: list[DiffLine]) -> str:
    """The reason the change means little, when it is all of one such kind; else ""."""
    if not lines:
        return "only the Last Updated date changed" if change.updated else ""
    if any(line.kind in HEADING_KINDS and line.op != "moved" for line in lines):
        return ""
    if all(line.op == "moved" and not line.edited for line in lines):
        return "only text moved"
    if all(line.op == "changed" and _footnotes_only(line) for line in lines):
        return "only footnote numbers changed"
    if all(line.op == "changed" and _spelling_only(line) for line in lines):
        return "only spelling or punctuation fixed"
    return ""


def _edits(line: DiffLine) -> list[tuple[str, str, str, str]]:
    """Each edit of a rewritten line: (unchanged text before, removed, added, unchanged
    text after)."""
    marks = line_marks(line)
    edits = []
    index = 0
    while index < len(marks):
        op, text = marks[index]
        if op == "=":
            index += 1
            continue
        start = index
        removed = text if op == "-" else ""
        added = text if op == "+" else ""
        if op == "-" and index + 1 < len(marks) and marks[index + 1][0] == "+":
            index += 1
            added = marks[index][1]
        before = marks[start - 1][1] if start > 0 else ""
        after = marks[index + 1][1] if index + 1 < len(marks) else ""
        edits.append((before, removed, added, after))
        index += 1
    return edits


def _spelling_only(line: DiffLine) -> bool:
    """Every edit stays inside one word and is a letter or two, or only case or punctuation."""
    for before, removed, added, after in _edits(line):
        if _PUNCTUATION.sub("", removed).casefold() == _PUNCTUATION.sub("", added).casefold():
            continue
        left = re.findall(r"\w*$", before)[0]
        right = re.findall(r"^\w*", after)[0]
        old, new = (left + removed + right).strip(), (left + added + right).strip()
        if len(old.split()) != 1 or len(new.split()) != 1:
            return False
        if max(len(old), len(new)) > MAX_WORD:  # no word: a run of text without a space
            return False
        if _distance(old.casefold(), new.casefold()) > 2 or any(ch.isdigit() for ch in old + new):
            return False
    return True


def _footnotes_only(line: DiffLine) -> bool:
    """Every edit is the number of a footnote mark: `[12]` -> `[13]`."""
    edits = _edits(line)
    return bool(edits) and all(
        _FOOTNOTE.match(before[-1:] + removed + after[:1])
        and _FOOTNOTE.match(before[-1:] + added + after[:1])
        and (before.endswith("[") or removed.startswith("["))
        for before, removed, added, after in edits
    )


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for words (short)."""
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]
