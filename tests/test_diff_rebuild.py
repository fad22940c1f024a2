"""Issue 28's property: for any two versions of a page, a rendered change keeps every word.
The removed and unchanged words of the change rebuild the old text and the added and
unchanged words the new one, in the email's text part (`render.text.change_body`, as the
composer calls it) and in the API record (`change` of `GET /api/v1/changes/{id}`); a moved
line is put back where it came from by the line number the record gives. And the summary
accounts for every line the change shows, no more and no fewer."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.diff import PageChange, diff_pages
from watcher.diff.summary import tell
from watcher.extract import Line, PageDocument
from watcher.extract.document import compare_key
from watcher.render.text import change_body
from watcher.render.view import page_view

EVERYTHING = 10**6  # context lines: the whole page shown

WORDS = (
    "Vietnam Cambodia signed ratified acceded treaty mines stockpile 1997 2012 56 57 the of"
    " and in was has not yet State Party convention clearance casualties survivors report"
).split()
SENTENCE = st.lists(st.sampled_from(WORDS), min_size=1, max_size=14).map(" ".join)
SECTIONS = ("Mine Ban Policy", "Casualties", "Stockpile")
PAGE = st.lists(st.tuples(st.sampled_from(SECTIONS), SENTENCE), max_size=10)

# Edits people make to a page: a word changed, a clause added, a line gone or new, a line
# moved, a paragraph split or two run together.
EDIT = st.one_of(
    st.tuples(st.just("word"), st.integers(0, 20), st.integers(0, 20), st.sampled_from(WORDS)),
    st.tuples(st.just("clause"), st.integers(0, 20), SENTENCE),
    st.tuples(st.just("drop"), st.integers(0, 20)),
    st.tuples(st.just("add"), st.integers(0, 20), st.sampled_from(SECTIONS), SENTENCE),
    st.tuples(st.just("move"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("split"), st.integers(0, 20), st.integers(1, 13)),
    st.tuples(st.just("merge"), st.integers(0, 20)),
)


def edited(lines: list[tuple[str, str]], edits: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    out = list(lines)
    for edit in edits:
        if not out and edit[0] != "add":
            continue
        at = edit[1] % len(out) if out else 0
        if edit[0] == "word":
            section, text = out[at]
            words = text.split()
            words[edit[2] % len(words)] = edit[3]
            out[at] = (section, " ".join(words))
        elif edit[0] == "clause":
            out[at] = (out[at][0], f"{out[at][1]}, {edit[2]}")
        elif edit[0] == "drop":
            del out[at]
        elif edit[0] == "add":
            out.insert(at, (edit[2], edit[3]))
        elif edit[0] == "move":
            line = out.pop(at)
            out.insert(edit[2] % (len(out) + 1), line)
        elif edit[0] == "split":
            section, text = out[at]
            words = text.split()
            cut = edit[2] % len(words)
            if cut:
                out[at : at + 1] = [
                    (section, " ".join(words[:cut])),
                    (section, " ".join(words[cut:])),
                ]
        elif at + 1 < len(out) and out[at + 1][0] == out[at][0]:
            out[at : at + 2] = [(out[at][0], f"{out[at][1]} {out[at + 1][1]}")]
    return out


def document(lines: list[tuple[str, str]]) -> PageDocument:
    return PageDocument(tuple(Line((section,), "text", text) for section, text in lines))


def keys(lines: list[str]) -> list[str]:
    return [compare_key(text) for text in lines]


def rebuilt_from_record(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Both versions' lines from the API record of a change shown whole."""
    [hunk] = data["hunks"]
    old: list[str] = []
    new: list[str] = []
    moved: list[tuple[int, str]] = []
    for line in hunk:
        marks = line.get("marks")
        if marks:
            assert "".join(t for op, t in marks if op != "+") == line["old"]
            assert "".join(t for op, t in marks if op != "-") == line["text"]
        op = line["op"]
        old_side = line.get("old") if line.get("old") is not None else line["text"]
        if op != "added":
            if op == "moved":
                moved.append((line["from"]["line"], old_side))
            elif line.get("joined") == "old":
                old[-1] = f"{old[-1]} {old_side}"
            else:
                old.append(old_side)
        if op != "removed":
            if line.get("joined") == "new":
                new[-1] = f"{new[-1]} {line['text']}"
            else:
                new.append(line["text"])
    for number, text in sorted(moved):
        old.insert(number - 1, text)
    return old, new


NOTE = re.compile(r"  \((moved [^)]*|split from the line above|joined to the line above)\)$")
MARK = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}|([^\[{]+|[\[{])")


def rebuilt_from_text(change: PageChange) -> tuple[list[str], list[str], list[str]]:
    """From the email's text part: the old lines that stayed in place, the moved lines'
    old sides, and the new lines, each with its parts put together again."""
    old: list[str] = []
    moved: list[str] = []
    new: list[str] = []
    joins = [line.joined for hunk in change.hunks for line in hunk]
    rows = [
        row
        for row in change_body(change, shorten=True)
        if row.startswith(("   ", " + ", " - ", " ~ ", " > ")) and not row.startswith("   ...")
    ]
    assert len(rows) == len(joins)
    for row, joined in zip(rows, joins, strict=True):
        sign, body = row[1], NOTE.sub("", row[3:])
        removed = "".join(m[0] + m[2] for m in MARK.findall(body))
        added = "".join(m[1] + m[2] for m in MARK.findall(body))
        if sign == "+":
            new.append(body[2:-2])
            continue
        if sign == "-":
            old.append(body[2:-2])
            continue
        target = moved if sign == ">" else old
        if joined == "old":
            target[-1] = f"{target[-1]} {removed}"
        else:
            target.append(removed)
        if joined == "new":
            new[-1] = f"{new[-1]} {added}"
        else:
            new.append(added)
    return old, moved, new


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAGE, st.lists(EDIT, min_size=1, max_size=5))
def test_a_rendered_change_rebuilds_both_versions(
    lines: list[tuple[str, str]], edits: list[tuple[Any, ...]]
) -> None:
    old_lines, new_lines = lines, edited(lines, edits)
    change = diff_pages(document(old_lines), document(new_lines), context=EVERYTHING)
    if change is None:
        assert keys([t for _, t in old_lines]) == keys([t for _, t in new_lines])
        return
    old_texts, new_texts = [t for _, t in old_lines], [t for _, t in new_lines]

    record = json.loads(json.dumps(change.to_json()))
    old, new = rebuilt_from_record(record)
    assert keys(old) == keys(old_texts)
    assert keys(new) == keys(new_texts)

    stayed, moved, new = rebuilt_from_text(change)
    moved_from = {line.at[0] - 1 for hunk in change.hunks for line in hunk if line.at}
    assert keys(stayed) == keys([t for i, t in enumerate(old_texts) if i not in moved_from])
    assert sorted(keys(moved)) == sorted(keys([old_texts[i] for i in moved_from]))
    assert keys(new) == keys(new_texts)

    shown = [row for row in page_view(change).rows if row.kind not in ("section", "gap")]
    assert tell(change).lines == sum(1 for row in shown if row.kind != "context")
