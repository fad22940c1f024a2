"""Word-level marks inside a changed line: which words went, which came.

The shared prefix and suffix of the two lines are trimmed before difflib runs, so a one-word
edit in a long paragraph costs little. A token is a word (or a punctuation mark) together
with the whitespace before it: as tokens of their own, spaces were half of every line, and
difflib slows down sharply on an element that common.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from watcher.diff.change import Mark

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
# Beyond this many tokens a line is marked as a whole: word diffs of huge lines help nobody.
MAX_TOKENS = 4000


def word_marks(old: str, new: str) -> tuple[Mark, ...] | None:
    """Segments that rebuild both lines: "=" shared, "-" only in old, "+" only in new."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(a) > MAX_TOKENS or len(b) > MAX_TOKENS:
        return None
    lead = _common_prefix(a, b)
    tail = _common_prefix(a[lead:][::-1], b[lead:][::-1])
    marks: list[Mark] = [("=", "".join(b[:lead]))] if lead else []
    middle_a, middle_b = a[lead : len(a) - tail], b[lead : len(b) - tail]
    matcher = SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            marks.append(("=", "".join(middle_b[j1:j2])))
            continue
        if i2 > i1:
            marks.append(("-", "".join(middle_a[i1:i2])))
        if j2 > j1:
            marks.append(("+", "".join(middle_b[j1:j2])))
    if tail:
        marks.append(("=", "".join(b[len(b) - tail :])))
    return tuple(_untangle_spaces(_tidy(marks)))


def _common_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count


def _tidy(marks: list[Mark]) -> list[Mark]:
    """Fold tiny shared gaps (a space, a comma) between two edits into the edits.

    `[-65-] [+66+]/[-48-][+29+]` reads worse than `[-65/48-][+66/29+]`.
    """
    out: list[Mark] = []
    for index, (op, text) in enumerate(marks):
        between_edits = (
            op == "="
            and 0 < index < len(marks) - 1
            and len(text.strip()) <= 1
            and len(text) <= 2
            and marks[index - 1][0] != "="
            and marks[index + 1][0] != "="
        )
        if between_edits:
            out.extend([("-", text), ("+", text)])
        else:
            out.append((op, text))
    return _merge(out)


def _merge(marks: list[Mark]) -> list[Mark]:
    """Join adjacent edits so each run of changes reads as one removal then one addition."""
    merged: list[Mark] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        if removed:
            merged.append(("-", "".join(removed)))
        if added:
            merged.append(("+", "".join(added)))
        removed.clear()
        added.clear()

    for op, text in marks:
        if op == "=":
            flush()
            if merged and merged[-1][0] == "=":
                merged[-1] = ("=", merged[-1][1] + text)
            else:
                merged.append((op, text))
        elif op == "-":
            removed.append(text)
        else:
            added.append(text)
    flush()
    return merged


def _untangle_spaces(marks: list[Mark]) -> list[Mark]:
    """Give the space both sides of an edit start with back to the shared text before it:
    `Voting[- 65/48-][+ 66/29+]` reads `Voting [-65/48-][+66/29+]`."""
    out: list[Mark] = []
    index = 0
    while index < len(marks):
        op, text = marks[index]
        if not (op == "-" and index + 1 < len(marks) and marks[index + 1][0] == "+"):
            out.append((op, text))
            index += 1
            continue
        added = marks[index + 1][1]
        space = _leading_space(text)
        if space and space == _leading_space(added) and len(space) < min(len(text), len(added)):
            out += [("=", space), ("-", text[len(space) :]), ("+", added[len(space) :])]
        else:
            out += [("-", text), ("+", added)]
        index += 2
    return _merge(out)


def _leading_space(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]
