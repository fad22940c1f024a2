"""Two page documents -> a PageChange: aligned lines, moves, paired rewrites, sections, hunks.

The steps, each in its module: the lines are aligned (`align`); lines that went from one
place and came, the same, to another are moves (`moves`); each changed region's removed and
added lines are paired where one is the other rewritten, split or merged (`pairs`); what is
left that is mostly the same words in two regions is a move with an edit (`moves`); then
the lines are cut into hunks with a little unchanged context around each change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from watcher.diff.align import align
from watcher.diff.change import (
    DiffLine,
    PageChange,
    SectionChange,
    SectionStatus,
    linked_changes,
)
from watcher.diff.moves import exact_moves, similar_moves
from watcher.diff.pairs import Pairer, Placed
from watcher.diff.renames import renamed_sections
from watcher.extract.document import HEADING_KINDS, Line, PageDocument, SectionPath, compare_key

CONTEXT = 2

# A run of the new version's unchanged lines [j1, j2), or a changed region's lines.
Segment = tuple[int, int] | list[DiffLine]


def diff_pages(old: PageDocument, new: PageDocument, context: int = CONTEXT) -> PageChange | None:
    """The change from `old` to `new`, or None when their lines are the same."""
    ids: dict[str, int] = {}
    a = [ids.setdefault(compare_key(line.text), len(ids)) for line in old.lines]
    b = [ids.setdefault(compare_key(line.text), len(ids)) for line in new.lines]
    documents = linked_changes(old.documents, new.documents)
    if a == b:
        if not documents:
            return None
        return PageChange(  # the same lines, a document's link moved to another address
            title=new.title or old.title,
            updated_old=old.updated,
            updated_new=new.updated,
            sections=(),
            hunks=(),
            added=0,
            removed=0,
            changed=0,
            size=(_size(old), _size(new)),
            documents=documents,
        )
    opcodes = align(a, b)
    regions = [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]
    moved_in = exact_moves(old.lines, new.lines, a, b, regions)
    moved_out = {line.at[0] - 1 for line in moved_in.values() if line.at}
    pairer = Pairer()
    placed = [
        list(
            pairer.pair(
                old.lines,
                new.lines,
                [i for i in range(i1, i2) if i not in moved_out],
                range(j1, j2),
                moved_in,
            )
        )
        for i1, i2, j1, j2 in regions
    ]
    placed = similar_moves(placed, old.lines, pairer)
    segments = _segments(opcodes, placed)
    hunks = tuple(_hunks(segments, new.lines, context))
    changed_lines = [line for hunk in hunks for line in hunk if line.op != "context"]
    ops = [line.op for line in changed_lines]
    return PageChange(
        title=new.title or old.title,
        updated_old=old.updated,
        updated_new=new.updated,
        sections=_sections(changed_lines),
        hunks=hunks,
        added=ops.count("added"),
        removed=ops.count("removed"),
        changed=ops.count("changed"),
        moved=ops.count("moved"),
        renamed=renamed_sections(old, new),
        size=(_size(old), _size(new)),
        documents=documents,
    )


def _size(document: PageDocument) -> int:
    """The document's watched text, in characters (what a change's share is of)."""
    return sum(len(line.text) for line in document.lines)


def _segments(
    opcodes: Sequence[tuple[str, int, int, int, int]], placed: list[list[Placed]]
) -> list[Segment]:
    """Unchanged runs and changed regions in order; a region left empty (all its lines
    moved elsewhere) is dropped, and the runs on each side of it become one."""
    segments: list[Segment] = []
    regions = iter(placed)
    for tag, _, _, j1, j2 in opcodes:
        if tag != "equal":
            lines = [place.line for place in next(regions)]
            if lines:
                segments.append(lines)
        elif segments and isinstance(segments[-1], tuple):
            segments[-1] = (segments[-1][0], j2)
        else:
            segments.append((j1, j2))
    return segments


def _hunks(
    segments: list[Segment], new: Sequence[Line], context: int
) -> Iterator[tuple[DiffLine, ...]]:
    """The changes with `context` unchanged lines around each; changes closer than twice
    that share a hunk."""

    def lines(j1: int, j2: int) -> list[DiffLine]:
        return [DiffLine("context", line.section, line.kind, line.text) for line in new[j1:j2]]

    hunk: list[DiffLine] = []
    for index, segment in enumerate(segments):
        if isinstance(segment, list):
            hunk.extend(segment)
            continue
        j1, j2 = segment
        first, last = index == 0, index == len(segments) - 1
        if first and last:
            continue
        if first:
            hunk = lines(max(j1, j2 - context), j2)
        elif last:
            hunk.extend(lines(j1, min(j2, j1 + context)))
        elif j2 - j1 > 2 * context:
            hunk.extend(lines(j1, j1 + context))
            yield tuple(hunk)
            hunk = lines(j2 - context, j2)
        else:
            hunk.extend(lines(j1, j2))
    if any(line.op != "context" for line in hunk):
        yield tuple(hunk)


def _sections(lines: list[DiffLine]) -> tuple[SectionChange, ...]:
    """Per section path: how many lines were added, removed, rewritten, moved in; new or
    gone sections."""
    ops = ("added", "removed", "changed", "moved")
    counts: dict[SectionPath, list[int]] = {}
    status: dict[SectionPath, SectionStatus] = {}
    for line in lines:
        if line.kind == "updated":  # reported as the date old -> new, not as a section edit
            continue
        tally = counts.setdefault(line.section, [0, 0, 0, 0])
        tally[ops.index(line.op)] += 1
        if line.kind in HEADING_KINDS and line.op in ("added", "removed"):
            status[line.section] = "added" if line.op == "added" else "removed"
    return tuple(
        SectionChange(path, status.get(path, "changed"), *tally) for path, tally in counts.items()
    )
