"""Word-level marks inside a changed line: which words went, which came.

The shared prefix and suffix of the two lines are trimmed before difflib runs, so a one-word
edit in a long paragraph costs little. A token is a word (or a punctuation mark) together
with the whitespace before it: as tokens of their own, spaces were half of every line, and
difflib slows down sharply on an element that common.

Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan are written without spaces between
words: there a token is one character with the marks that sit on it (a grapheme, near
enough), so a two-character edit in a sentence is marked as those characters, not as the
whole sentence. The same tokens decide which removed and added lines are one line rewritten
(`words`).
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache

from watcher.diff.change import Mark

# Blocks of the scripts written without spaces between words.
_UNSPACED_BLOCKS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs, extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK unified ideographs, extensions B-G
)

# Beyond this many tokens a line is marked as a whole: word diffs of huge lines help nobody.
MAX_TOKENS = 4000


def _class(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges)


def _marks_in(blocks: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """The combining marks (Mn, Mc, Me) of these blocks, as ranges."""
    ranges: list[tuple[int, int]] = []
    for lo, hi in blocks:
        for code in range(lo, hi + 1):
            if unicodedata.category(chr(code)).startswith("M"):
                if ranges and ranges[-1][1] == code - 1:
                    ranges[-1] = (ranges[-1][0], code)
                else:
                    ranges.append((code, code))
    return ranges


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The token pattern and the test for unspaced scripts: compiled at first use (~10 ms,
    which a `watcher check` that finds no change need not pay)."""
    unspaced = _class(list(_UNSPACED_BLOCKS))
    marks = _class(  # combining marks, and those of the unspaced scripts (none among Han)
        _marks_in(((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF)))
        + _marks_in(((0x0E00, 0x109F), (0x1780, 0x17FF), (0x3099, 0x309A)))
    )
    # A character of an unspaced script with its marks; a run of other word characters
    # (and the marks on them); a punctuation mark; whitespace before any of them.
    token = re.compile(rf"\s*(?:[{unspaced}][{marks}]*|(?:[^\W{unspaced}]|[{marks}])+|[^\w\s])|\s+")
    return token, re.compile(f"[{unspaced}]")


_ASCII_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")  # the same, where no script or mark can be


def tokens(text: str) -> list[str]:
    """The line as tokens, each with the whitespace before it; they join back into it."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text)
    return _patterns()[0].findall(text)


# What clings to a word without changing it: "Munitions." and "Munitions," are one word.
PUNCTUATION = ".,;:!?()[]{}\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u3001\u3002\uff0c"
_DROP = str.maketrans("", "", PUNCTUATION)
_ASCII_DROP = PUNCTUATION.encode("ascii", "ignore")  # bytes.translate: ~3x str.translate


def words(text: str) -> frozenset[str]:
    """The words of a line, for telling whether two lines are one line rewritten: in any
    case and without the punctuation that clings to them, split on whitespace, and each
    character apart in the scripts written without spaces."""
    if text.isascii():  # most lines: the same words, a good deal faster
        return frozenset(text.encode().translate(None, _ASCII_DROP).lower().decode().split())
    folded = text.translate(_DROP).casefold()
    if not _patterns()[1].search(folded):
        return frozenset(folded.split())
    return frozenset(token.strip() for token in tokens(folded) if not token.isspace())


def word_marks(old: str, new: str) -> tuple[Mark, ...] | None:
    """Segments that rebuild both lines: "=" shared, "-" only in old, "+" only in new."""
    a, b = tokens(old), tokens(new)
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
