"""Two page documents -> a PageChange: aligned lines, paired rewrites, sections, hunks.

difflib's SequenceMatcher aligns lines well but goes quadratic on big inputs, so it only ever
sees small regions: common prefixes and suffixes are trimmed first, and big regions are split
on lines that occur exactly once on both sides (the "patience" idea) before it runs.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from watcher.diff.change import DiffLine, PageChange, SectionChange, SectionStatus
from watcher.diff.renames import renamed_sections
from watcher.diff.words import word_marks, words
from watcher.extract.document import (
    HEADING_KINDS,
    Line,
    PageDocument,
    SectionPath,
    compare_key,
)

Opcode = tuple[str, int, int, int, int]

CONTEXT = 2
MATCHER_LIMIT = 250_000  # n*m above which a region is split on unique lines first
MAX_DEPTH = 64
PAIR_THRESHOLD = 0.5  # share of words two lines need in common to count as one line rewritten
# Or: this share of one line's words survive in the other (a clause or sentence appended,
# prepended or inserted, or taken out), whatever the two lengths, for a line of at least
# SURVIVING_WORDS words (shorter lines would pair with anything that repeats them).
SURVIVES = 0.8
SURVIVING_WORDS = 4
MAX_MARKED_PAIRS = 500  # word marks beyond this many rewritten lines are left to the reader


def diff_pages(old: PageDocument, new: PageDocument, context: int = CONTEXT) -> PageChange | None:
    """The change from `old` to `new`, or None when their lines are the same."""
    ids: dict[str, int] = {}
    a = [ids.setdefault(compare_key(line.text), len(ids)) for line in old.lines]
    b = [ids.setdefault(compare_key(line.text), len(ids)) for line in new.lines]
    if a == b:
        return None
    opcodes = align(a, b)
    pairer = _Pairer()
    hunks = tuple(
        tuple(line for op in group for line in _expand(op, old.lines, new.lines, pairer))
        for group in group_opcodes(opcodes, context)
    )
    changed_lines = [line for hunk in hunks for line in hunk if line.op != "context"]
    return PageChange(
        title=new.title or old.title,
        updated_old=old.updated,
        updated_new=new.updated,
        sections=_sections(changed_lines),
        hunks=hunks,
        added=sum(1 for line in changed_lines if line.op == "added"),
        removed=sum(1 for line in changed_lines if line.op == "removed"),
        changed=sum(1 for line in changed_lines if line.op == "changed"),
        renamed=renamed_sections(old, new),
    )


def align(a: Sequence[int], b: Sequence[int]) -> list[Opcode]:
    """difflib-style opcodes covering both sequences, without quadratic blow-ups."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    ops: list[Opcode] = []
    if prefix:
        ops.append(("equal", 0, prefix, 0, prefix))
    ops.extend(_align(a, b, prefix, len(a) - suffix, prefix, len(b) - suffix, 0))
    if suffix:
        ops.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return _merge(ops)


def _align(
    a: Sequence[int], b: Sequence[int], alo: int, ahi: int, blo: int, bhi: int, depth: int
) -> list[Opcode]:
    if alo == ahi and blo == bhi:
        return []
    if alo == ahi:
        return [("insert", alo, alo, blo, bhi)]
    if blo == bhi:
        return [("delete", alo, ahi, blo, blo)]
    if (ahi - alo) * (bhi - blo) <= MATCHER_LIMIT:
        matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        return [
            (tag, alo + i1, alo + i2, blo + j1, blo + j2)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        ]
    anchors = _unique_anchors(a, b, alo, ahi, blo, bhi) if depth < MAX_DEPTH else []
    if not anchors:
        return [("replace", alo, ahi, blo, bhi)]
    ops: list[Opcode] = []
    i, j = alo, blo
    for ai, bj in anchors:
        ops.extend(_align(a, b, i, ai, j, bj, depth + 1))
        ops.append(("equal", ai, ai + 1, bj, bj + 1))
        i, j = ai + 1, bj + 1
    ops.extend(_align(a, b, i, ahi, j, bhi, depth + 1))
    return ops


def _unique_anchors(
    a: Sequence[int], b: Sequence[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Lines that occur once on each side, kept in an order both sides agree on (LIS)."""
    count_a: dict[int, int] = {}
    for index in range(alo, ahi):
        count_a[a[index]] = count_a.get(a[index], 0) + 1
    position_b: dict[int, int] = {}
    count_b: dict[int, int] = {}
    for index in range(blo, bhi):
        value = b[index]
        count_b[value] = count_b.get(value, 0) + 1
        position_b[value] = index
    pairs = [
        (index, position_b[a[index]])
        for index in range(alo, ahi)
        if count_a[a[index]] == 1 and count_b.get(a[index]) == 1
    ]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    tails: list[int] = []  # smallest b-index ending an increasing run of each length
    tail_at: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for index, (_, bj) in enumerate(pairs):
        slot = bisect.bisect_left(tails, bj)
        if slot == len(tails):
            tails.append(bj)
            tail_at.append(index)
        else:
            tails[slot] = bj
            tail_at[slot] = index
        back[index] = tail_at[slot - 1] if slot else -1
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index != -1:
        chain.append(pairs[index])
        index = back[index]
    return chain[::-1]


def _merge(ops: list[Opcode]) -> list[Opcode]:
    merged: list[Opcode] = []
    for op in ops:
        if merged and merged[-1][0] == op[0] == "equal":
            tag, i1, _, j1, _ = merged[-1]
            merged[-1] = (tag, i1, op[2], j1, op[4])
        elif merged and merged[-1][0] != "equal" and op[0] != "equal":
            _, i1, _, j1, _ = merged[-1]
            merged[-1] = ("replace", i1, op[2], j1, op[4])
        else:
            merged.append(op)
    return merged


def group_opcodes(opcodes: list[Opcode], context: int) -> Iterator[list[Opcode]]:
    """Split opcodes into hunks with `context` unchanged lines around each change."""
    group: list[Opcode] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag != "equal":
            group.append((tag, i1, i2, j1, j2))
            continue
        first, last = index == 0, index == len(opcodes) - 1
        if first:
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        if last:
            i2, j2 = min(i2, i1 + context), min(j2, j1 + context)
        if not first and not last and i2 - i1 > 2 * context:
            group.append((tag, i1, i1 + context, j1, j1 + context))
            yield group
            group = [(tag, i2 - context, i2, j2 - context, j2)]
            continue
        if i2 > i1:
            group.append((tag, i1, i2, j1, j2))
    if any(op[0] != "equal" for op in group):
        yield group


def _expand(
    op: Opcode, old: Sequence[Line], new: Sequence[Line], pairer: _Pairer
) -> Iterator[DiffLine]:
    tag, i1, i2, j1, j2 = op
    if tag == "equal":
        for line in new[j1:j2]:
            yield DiffLine("context", line.section, line.kind, line.text)
    else:
        yield from pairer.pair(old[i1:i2], new[j1:j2])


@dataclass
class _Pairer:
    """Matches the removed and added lines of one region that are the same line rewritten."""

    marked: int = 0

    def pair(self, old: Sequence[Line], new: Sequence[Line]) -> Iterator[DiffLine]:
        window = 8 if len(old) * len(new) <= 10_000 else 2
        new_words = [words(line.text) for line in new]
        j = 0
        for line in old:
            old_words = words(line.text)
            match = next(
                (
                    k
                    for k in range(j, min(len(new), j + window))
                    if new[k].kind == line.kind
                    and _same_line(line, new[k], old_words, new_words[k])
                ),
                None,
            )
            if match is None:
                yield DiffLine("removed", line.section, line.kind, line.text)
                continue
            for added in new[j:match]:
                yield DiffLine("added", added.section, added.kind, added.text)
            yield self._changed(line, new[match])
            j = match + 1
        for added in new[j:]:
            yield DiffLine("added", added.section, added.kind, added.text)

    def _changed(self, old: Line, new: Line) -> DiffLine:
        marks = None
        if self.marked < MAX_MARKED_PAIRS:
            self.marked += 1
            marks = word_marks(old.text, new.text)
        return DiffLine("changed", new.section, new.kind, new.text, old=old.text, marks=marks)


def _same_line(old: Line, new: Line, old_words: frozenset[str], new_words: frozenset[str]) -> bool:
    """Is `new` the same line as `old`, rewritten? Rows of a data table with the same label
    are; otherwise lines that have enough words in common, or one of which survives almost
    whole in the other (a clause appended, prepended or inserted: the one rule every output
    shows, since they all show this pairing)."""
    if old.kind == "updated":
        return True
    if old.kind == "row" and ":" in old.text and _label(old.text) == _label(new.text):
        return True
    if not old_words or not new_words:
        return False
    common = len(old_words & new_words)
    if common / len(old_words | new_words) >= PAIR_THRESHOLD:
        return True
    return any(
        len(side) >= SURVIVING_WORDS and common / len(side) >= SURVIVES
        for side in (old_words, new_words)
    )


def _label(text: str) -> str:
    return text.partition(":")[0]


def _sections(lines: list[DiffLine]) -> tuple[SectionChange, ...]:
    """Per section path: how many lines were added, removed, rewritten; new or gone sections."""
    counts: dict[SectionPath, list[int]] = {}
    status: dict[SectionPath, SectionStatus] = {}
    for line in lines:
        if line.kind == "updated":  # reported as the date old -> new, not as a section edit
            continue
        tally = counts.setdefault(line.section, [0, 0, 0])
        tally[("added", "removed", "changed").index(line.op)] += 1
        if line.kind in HEADING_KINDS and line.op in ("added", "removed"):
            status[line.section] = "added" if line.op == "added" else "removed"
    return tuple(
        SectionChange(path, status.get(path, "changed"), *tally) for path, tally in counts.items()
    )
