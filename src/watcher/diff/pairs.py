"""Which removed and added lines of one region are the same line rewritten, split or merged.

The rule every output shows (email, web, `watcher show`, API, Atom, webhooks, chat): a new
line is its old self rewritten when the two have enough words in common, or when most of
one survives in the other (a clause or sentence appended, prepended or inserted, or taken
out), whatever the two lengths. A paragraph cut in two is paired with both its parts, and
two paragraphs run together with the line they became: each part is a line rewritten with
its share of the other side, marked `joined`, so both versions still read whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from watcher.diff.change import DiffLine, Joined, Mark
from watcher.diff.words import word_marks, words
from watcher.extract.document import Line

PAIR_THRESHOLD = 0.5  # share of words two lines need in common to count as one line rewritten
# Or: this share of one line's words survive in the other (a clause or sentence appended,
# prepended or inserted, or taken out), whatever the two lengths, for a line of at least
# SURVIVING_WORDS words (shorter lines would pair with anything that repeats them).
SURVIVES = 0.8
SURVIVING_WORDS = 4
MAX_MARKED_PAIRS = 500  # word marks beyond this many rewritten lines are left to the reader
MAX_PARTS = 8  # a paragraph split into more parts than this is read as lines added
LONGER = 1.25  # a line split (or merged) is at least this much longer than its first part


@dataclass(slots=True)
class Placed:
    """A line of the change with where it stands: its index in the old version and in the
    new (None on the side it is not on)."""

    line: DiffLine
    old: int | None
    new: int | None


@dataclass
class Pairer:
    """Pairs the lines of each changed region in turn; counts the word marks it computed."""

    marked: int = 0

    def marks(self, old: str, new: str) -> tuple[Mark, ...] | None:
        if self.marked >= MAX_MARKED_PAIRS:
            return None
        self.marked += 1
        return word_marks(old, new)

    def pair(
        self,
        old: Sequence[Line],
        new: Sequence[Line],
        olds: Sequence[int],
        news: Sequence[int],
        moved_in: dict[int, DiffLine],
    ) -> Iterator[Placed]:
        """The region's lines in order: old lines `olds` against new lines `news`; a new
        line in `moved_in` came from elsewhere and is shown where it now stands."""
        window = 8 if len(olds) * len(news) <= 10_000 else 2
        new_words = {j: words(new[j].text) for j in news if j not in moved_in}
        old_words = {i: words(old[i].text) for i in olds}
        at = 0  # next position in `news` not yet shown
        index = 0
        while index < len(olds):
            i = olds[index]
            line = old[i]
            match = self._find(line, old_words[i], new, news, at, window, new_words, moved_in)
            if match is None:
                yield Placed(DiffLine("removed", line.section, line.kind, line.text), i, None)
                index += 1
                continue
            yield from self._shown(new, news[at:match], moved_in)
            j = news[match]
            parts, merged = [j], [i]
            # A split leaves the first part shorter than the old line; a merge makes the new
            # line longer than the first old one (a cheap test before the words are compared).
            if len(line.text) > len(new[j].text) * LONGER:
                parts = _following(new, news, match, moved_in, new_words, old_words[i], line.kind)
            elif len(new[j].text) > len(line.text) * LONGER:
                merged = _following_old(old, olds, index, new[j], new_words[j], old_words)
            if len(parts) > 1:
                yield from self._split(line, i, [(j, new[j]) for j in parts])
                at, index = match + len(parts), index + 1
            elif len(merged) > 1:
                yield from self._merge([(k, old[k]) for k in merged], news[match], new[news[match]])
                at, index = match + 1, index + len(merged)
            else:
                yield Placed(self._changed(line, new[news[match]]), i, news[match])
                at, index = match + 1, index + 1
        yield from self._shown(new, news[at:], moved_in)

    def _find(
        self,
        line: Line,
        old_words: frozenset[str],
        new: Sequence[Line],
        news: Sequence[int],
        at: int,
        window: int,
        new_words: dict[int, frozenset[str]],
        moved_in: dict[int, DiffLine],
    ) -> int | None:
        """The position in `news` of the first of the next `window` lines that is `line`
        rewritten (lines moved in are passed over)."""
        seen = 0
        for position in range(at, len(news)):
            j = news[position]
            if j in moved_in:
                continue
            if new[j].kind == line.kind and same_line(line, new[j], old_words, new_words[j]):
                return position
            seen += 1
            if seen >= window:
                return None
        return None

    def _shown(
        self, new: Sequence[Line], shown: Sequence[int], moved_in: dict[int, DiffLine]
    ) -> Iterator[Placed]:
        for j in shown:
            line = new[j]
            diff = moved_in.get(j) or DiffLine("added", line.section, line.kind, line.text)
            yield Placed(diff, None, j)

    def _changed(self, old: Line, new: Line) -> DiffLine:
        marks = self.marks(old.text, new.text)
        return DiffLine("changed", new.section, new.kind, new.text, old=old.text, marks=marks)

    def _split(self, line: Line, i: int, parts: list[tuple[int, Line]]) -> Iterator[Placed]:
        """One old line cut in parts: each part rewritten from its share of the old line."""
        slices = cut(line.text, [part.text for _, part in parts], side="old")
        for number, ((j, part), piece) in enumerate(zip(parts, slices, strict=True)):
            yield Placed(self._part(part, piece, part.text, "old" if number else None), i, j)

    def _merge(self, lines: list[tuple[int, Line]], j: int, merged: Line) -> Iterator[Placed]:
        """Old lines run into one: each rewritten as its share of the new line."""
        slices = cut(merged.text, [line.text for _, line in lines], side="new")
        for number, ((i, line), piece) in enumerate(zip(lines, slices, strict=True)):
            yield Placed(self._part(merged, line.text, piece, "new" if number else None), i, j)

    def _part(self, where: Line, old: str, new: str, joined: Joined | None) -> DiffLine:
        marks = self.marks(old, new)
        return DiffLine(
            "changed", where.section, where.kind, new, old=old, marks=marks, joined=joined
        )


def same_line(old: Line, new: Line, old_words: frozenset[str], new_words: frozenset[str]) -> bool:
    """Is `new` the same line as `old`, rewritten? Rows of a data table with the same label
    are; otherwise lines that have enough words in common, or one of which survives almost
    whole in the other."""
    if old.kind == "updated":
        return True
    if old.kind == "row" and ":" in old.text and _label(old.text) == _label(new.text):
        return True
    return similar(old_words, new_words, PAIR_THRESHOLD)


def similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    """Enough words in common (`threshold` of all), or one side surviving in the other."""
    if not a or not b:
        return False
    common = len(a & b)
    if common / len(a | b) >= threshold:
        return True
    return any(len(side) >= SURVIVING_WORDS and common / len(side) >= SURVIVES for side in (a, b))


def _label(text: str) -> str:
    return text.partition(":")[0]


def _following(
    new: Sequence[Line],
    news: Sequence[int],
    match: int,
    moved_in: dict[int, DiffLine],
    new_words: dict[int, frozenset[str]],
    old_words: frozenset[str],
    kind: str,
) -> list[int]:
    """The new lines from `news[match]` on that are parts of the old line: each one's words
    mostly from it, each adding words of it the parts before had not."""
    parts = [news[match]]
    covered = new_words[news[match]] & old_words
    for position in range(match + 1, min(len(news), match + MAX_PARTS)):
        j = news[position]
        if j in moved_in or new[j].kind != kind or not _part_of(new_words[j], old_words, covered):
            break
        parts.append(j)
        covered |= new_words[j] & old_words
    return parts


def _following_old(
    old: Sequence[Line],
    olds: Sequence[int],
    index: int,
    merged: Line,
    merged_words: frozenset[str],
    old_words: dict[int, frozenset[str]],
) -> list[int]:
    """The old lines from `olds[index]` on that were run together into `merged`."""
    lines = [olds[index]]
    covered = old_words[olds[index]] & merged_words
    for position in range(index + 1, min(len(olds), index + MAX_PARTS)):
        i = olds[position]
        line_words = old_words[i]
        if old[i].kind != merged.kind or not _part_of(line_words, merged_words, covered):
            break
        lines.append(i)
        covered |= line_words & merged_words
    return lines


def _part_of(part: frozenset[str], whole: frozenset[str], covered: frozenset[str]) -> bool:
    """Is `part` a piece of `whole` beyond what `covered` already holds: at least
    SURVIVING_WORDS words, most of them in `whole`, and a third of those not yet covered
    (a line that only repeats what the parts before it hold is no part)?"""
    inside = part & whole
    return (
        len(part) >= SURVIVING_WORDS
        and len(inside) / len(part) >= SURVIVES
        and len(inside - covered) * 3 >= len(inside)
    )


def cut(whole: str, parts: list[str], side: Joined) -> list[str]:
    """`whole` cut into as many pieces as `parts`, where the parts, joined by spaces, part:
    the pieces are `whole`'s text (each stripped) and hold all of it but its whitespace.
    `side` is the side `whole` is on: "old" when the parts are new (a split), "new" when
    they are old (a merge)."""
    joined = " ".join(parts)
    marks = word_marks(whole, joined) if side == "old" else word_marks(joined, whole)
    if marks is None:  # too long to mark: cut in proportion
        return _proportional(whole, parts)
    bounds, total = [], -1
    for part in parts[:-1]:
        total += len(part) + 1
        bounds.append(total)  # the space before the next part, in `joined`
    # Walk the marks: `here` the position in `joined`, `there` in `whole`.
    mine = "-" if side == "old" else "+"  # the text only `whole` has
    cuts: list[int] = []
    here = there = 0
    for index, (op, text) in enumerate(marks):
        if op == mine:
            there += len(text)
            continue
        # A cut inside text only the parts have falls after what `whole` has in its place.
        following = marks[index + 1] if index + 1 < len(marks) else ("=", "")
        instead = len(following[1]) if following[0] == mine else 0
        while bounds and here <= bounds[0] < here + len(text):
            bound = bounds.pop(0)
            cuts.append(there + (bound - here) if op == "=" else there + instead)
        here += len(text)
        if op == "=":
            there += len(text)
    cuts += [len(whole)] * len(bounds)
    edges = [0, *cuts, len(whole)]
    return [whole[start:end].strip() for start, end in itertools.pairwise(edges)]


def _proportional(whole: str, parts: list[str]) -> list[str]:
    size = sum(len(part) for part in parts) or 1
    edges, done = [0], 0
    for part in parts[:-1]:
        done += len(part)
        edges.append(min(len(whole), round(len(whole) * done / size)))
    edges.append(len(whole))
    return [whole[start:end].strip() for start, end in itertools.pairwise(edges)]
