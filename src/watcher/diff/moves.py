"""Moved text: a line that left one place and stands in another, shown once, as moved.

Two passes, as MediaWiki's wikidiff2 and git's `--color-moved` decide it. First, before lines
are paired, a line removed in one place and added, word for word, in another is a move.
Then, once each region's rewrites are paired, a removed line and an added line of different
regions that are mostly the same words (wikidiff2's 0.4) are a move with an edit on the way,
word-marked; that pass is skipped past MAX_MOVE_LINES lines on either side, as wikidiff2
skips it past 100 changed lines. A line needs at least MOVE_CHARS letters and digits to be
called moved (git's rule for a moved block): short lines repeat by chance. Headings, the
title and the Last Updated line are never moved: a heading that went and came is a section
removed and added.
"""

from __future__ import annotations

from collections.abc import Sequence

from watcher.diff.change import DiffLine
from watcher.diff.pairs import Pairer, Placed, similar
from watcher.diff.words import words
from watcher.extract.document import HEADING_KINDS, Line

MOVE_CHARS = 20
MOVE_SIMILAR = 0.4
MAX_MOVE_LINES = 100
_FIXED = HEADING_KINDS | {"title", "updated"}

Region = tuple[int, int, int, int]  # old lines [i1, i2), new lines [j1, j2)


def movable(line: Line | DiffLine) -> bool:
    """Long enough to be called moved: MOVE_CHARS letters or digits, and not a heading, the
    title or the Last Updated line. (Counted only as far as it needs: a diff asks this of
    every line that went or came.)"""
    if line.kind in _FIXED or len(line.text) < MOVE_CHARS:
        return False
    count = 0
    for character in line.text:
        if character.isalnum():
            count += 1
            if count == MOVE_CHARS:
                return True
    return False


def exact_moves(
    old: Sequence[Line],
    new: Sequence[Line],
    a: Sequence[int],
    b: Sequence[int],
    regions: Sequence[Region],
) -> dict[int, DiffLine]:
    """New line index -> its `moved` line, for the lines removed in one place and added,
    the same (whitespace aside), in another; each old line is taken once, in order."""
    came = {b[j] for _, _, j1, j2 in regions for j in range(j1, j2)}
    gone: dict[int, list[int]] = {}
    for i1, i2, _, _ in regions:
        for i in range(i1, i2):
            if a[i] in came:
                gone.setdefault(a[i], []).append(i)
    found: dict[int, DiffLine] = {}
    if not gone:
        return found
    for _, _, j1, j2 in regions:
        for j in range(j1, j2):
            left = gone.get(b[j])
            if left and movable(new[j]) and movable(old[left[0]]):
                i = left.pop(0)
                line = new[j]
                text_old = old[i].text if old[i].text != line.text else None
                found[j] = DiffLine(
                    "moved",
                    line.section,
                    line.kind,
                    line.text,
                    old=text_old,
                    origin=old[i].section,
                    at=(i + 1, j + 1),
                )
    return found


def similar_moves(
    regions: list[list[Placed]], old: Sequence[Line], pairer: Pairer
) -> list[list[Placed]]:
    """The regions with each removed line that is mostly an added line of another region
    taken out, and that added line shown as the removed one moved (and edited)."""
    if len(regions) < 2:
        return regions  # a move is between regions
    gone = [
        (number, place)
        for number, region in enumerate(regions)
        for place in region
        if place.line.op == "removed"
    ]
    came = [
        (number, place)
        for number, region in enumerate(regions)
        for place in region
        if place.line.op == "added"
    ]
    if not gone or not came or len(gone) > MAX_MOVE_LINES or len(came) > MAX_MOVE_LINES:
        return regions
    gone = [(number, place) for number, place in gone if movable(place.line)]
    came = [(number, place) for number, place in came if movable(place.line)]
    came_words = [words(place.line.text) for _, place in came]
    scored = []
    for x, (region_a, removed) in enumerate(gone):
        removed_words = words(removed.line.text)
        for y, (region_b, added) in enumerate(came):
            if region_a == region_b or removed.line.kind != added.line.kind:
                continue
            if similar(removed_words, came_words[y], MOVE_SIMILAR):
                common = len(removed_words & came_words[y])
                scored.append((common / len(removed_words | came_words[y]), x, y))
    taken_gone: set[int] = set()
    taken_came: set[int] = set()
    for _, x, y in sorted(scored, key=lambda item: (-item[0], item[1], item[2])):
        if x in taken_gone or y in taken_came:
            continue
        taken_gone.add(x)
        taken_came.add(y)
        removed, added = gone[x][1], came[y][1]
        assert removed.old is not None
        assert added.new is not None
        line = added.line
        added.line = DiffLine(
            "moved",
            line.section,
            line.kind,
            line.text,
            old=removed.line.text,
            marks=pairer.marks(removed.line.text, line.text),
            origin=removed.line.section,
            at=(removed.old + 1, added.new + 1),
        )
    dropped = {id(gone[x][1]) for x in taken_gone}
    return [[place for place in region if id(place) not in dropped] for region in regions]
