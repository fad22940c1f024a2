"""A render that came out short: empty, or with far less text than the last snapshot had.

A page rendered in the browser (`fetch = "browser"`) can be taken before its app has drawn,
or after it failed to fetch its data: that is a bad render, not the page's news. The check
renders such a page once more (`check/pipeline.py`); if it is still short, the check fails
with the reason below and the snapshot is left alone, so a bad render is never a change.

A render with far less text is the page's content after all when it stays so: at the
`SHORT_RENDERS`-th check in a row it is taken (a real cut to a page is told, a few checks
late) with a warning. An empty render never is.
"""

from __future__ import annotations

from watcher.extract import Document, PageDocument

NOTHING = "the page rendered nothing"
FAR_LESS = "the page rendered far less text than last time"
LOST = 0.5  # a render with less than this share of the last snapshot's text is far less
AT_LEAST = 200  # characters the last snapshot must have had for a shortfall to count
SHORT_RENDERS = 3  # checks in a row with far less text, after which it is the page's text


def text_size(document: Document | None) -> int:
    if not isinstance(document, PageDocument):
        return 0
    return sum(len(line.text) for line in document.lines)


def shortfall(document: Document | None, previous: Document | None) -> str | None:
    """Why this render is not the page, or None when it is."""
    if not isinstance(document, PageDocument):
        return None
    now = text_size(document)
    if now == 0:
        return NOTHING
    before = text_size(previous)
    if before >= AT_LEAST and now < LOST * before:
        return f"{FAR_LESS} ({now:,} characters, against {before:,}), rendered twice"
    return None


def held(reason: str, failures: int, last_error: str | None) -> bool:
    """Whether a render with far less text has now held for `SHORT_RENDERS` checks in a row
    (the ones before this one failed with the same reason): then it is the page's text."""
    return (
        reason.startswith(FAR_LESS)
        and failures >= SHORT_RENDERS - 1
        and (last_error or "").startswith(FAR_LESS)
    )
