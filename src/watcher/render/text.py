"""Changes as plain text: `[-removed-]{+added+}` marks, lines grouped under their sections.

Used by `watcher show` and by the plain-text part of emails, so an editor reads the same
thing in a terminal and in a mail client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from watcher.diff.change import Change, DiffLine, FeedChange, Mark, PageChange
from watcher.render.view import Row, line_marks, page_view

Paint = Callable[[str, str], str]  # (text, "added" | "removed" | "heading") -> decorated text


def plain(text: str, _role: str) -> str:
    return text


def ansi(text: str, role: str) -> str:
    codes = {"added": "32;4", "removed": "31;9", "heading": "1"}
    return f"\033[{codes[role]}m{text}\033[0m"


LEGEND = "Marks: [-removed text-] {+added text+}; lines: + added, - removed, ~ rewritten, > moved."
SIGNS = {"context": " ", "added": "+", "removed": "-", "changed": "~", "moved": ">"}


def marked_text(marks: tuple[Mark, ...], paint: Paint = plain) -> str:
    return "".join(
        text if op == "=" else _removed(text, paint) if op == "-" else _added(text, paint)
        for op, text in marks
    )


def _removed(text: str, paint: Paint) -> str:
    return paint(f"[-{text}-]", "removed") if text else ""


def _added(text: str, paint: Paint) -> str:
    return paint(f"{{+{text}+}}", "added") if text else ""


def row_text(row: Row, paint: Paint = plain) -> str:
    if row.kind == "section":
        return paint(f"@@ {row.text}{' (new)' if row.new_section else ''}", "heading")
    if row.kind == "gap":
        return "   ..."
    if row.kind in ("changed", "moved"):
        text = marked_text(row.marks, paint)
    elif row.kind == "added":
        text = _added(row.text, paint)
    elif row.kind == "removed":
        text = _removed(row.text, paint)
    else:
        text = row.text
    note = f"  ({row.note})" if row.note else ""
    return f" {SIGNS[row.kind]} {'• ' if row.item else ''}{text}{note}"


def diff_lines(
    change: PageChange, *, limit: int | None = None, shorten: bool = False, paint: Paint = plain
) -> Iterator[str]:
    view = page_view(change, limit=limit, shorten=shorten)
    for row in view.rows:
        yield row_text(row, paint)
    if view.hidden:
        yield f"   ... {view.hidden} more changed lines not shown"


def page_summary(change: PageChange) -> Iterator[str]:
    """The change in plain words, a phrase a line (`diff.summary`)."""
    yield from change.phrases() or [change.summary()]


def document_lines(change: PageChange) -> Iterator[str]:
    """Each linked document new or gone, by its label and address; a new one with its first
    lines as it was read."""
    for document in change.documents:
        yield document.phrase
        yield f"  {document.url}"
        for line in document.excerpt:
            yield f"  | {line}"


def feed_lines(change: FeedChange, *, paint: Paint = plain) -> Iterator[str]:
    for item in change.entries:
        entry = item.entry
        date = f" ({entry.date[:10]})" if entry.date else ""
        label = "New" if item.status == "new" else "Updated"
        yield f" {'+' if item.status == 'new' else '~'} {label}: {entry.title}{date}"
        if entry.link:
            yield f"   {entry.link}"
        previous = item.previous
        if previous is not None and previous.title != entry.title:
            yield f"   Title: {_rewrite(previous.title, entry.title, paint)}"
        if entry.summary:
            if previous is not None and previous.summary != entry.summary:
                yield f"   {_rewrite(previous.summary, entry.summary, paint)}"
            else:
                yield f"   {entry.summary}"


def _rewrite(old: str, new: str, paint: Paint) -> str:
    return marked_text(line_marks(DiffLine("changed", (), "text", new, old=old)), paint)


def change_body(
    change: Change, *, limit: int | None = None, shorten: bool = False, paint: Paint = plain
) -> Iterator[str]:
    if isinstance(change, PageChange):
        yield from page_summary(change)
        yield ""
        documents = list(document_lines(change))
        if documents:
            yield from documents
            yield ""
        yield from diff_lines(change, limit=limit, shorten=shorten, paint=paint)
    else:
        yield from feed_lines(change, paint=paint)
