"""A section renamed on the site: the same section under a new heading, so that the readers
who follow it keep following it.

How it is decided, between the page as stored and as fetched: a top-level heading that is
gone and one that is new are the same section when the new one holds most of what the old
one held: at least 80% of the old section's lines (headings of subsections included, any
whitespace aside), or at least half of them when the two headings share a word ("Mine Ban
Policy" -> "Mine Ban Treaty Policy"). A gone heading takes the new one that holds most of
its lines; each new heading is taken once. A section emptied and refilled, or two sections
merged, is not a rename: its followers hear of it as a change of the old section.
"""

from __future__ import annotations

import re

from watcher.extract.document import PageDocument, compare_key

SAME = 0.8  # share of the old section's lines that makes a rename whatever the headings
SIMILAR = 0.5  # enough when the headings share a word


def renamed_sections(old: PageDocument, new: PageDocument) -> tuple[tuple[str, str], ...]:
    """(old heading, new heading) for each top-level section renamed from `old` to `new`."""
    before, after = _bodies(old), _bodies(new)
    came = [name for name in after if name not in before]
    pairs = []
    for name in (name for name in before if name not in after):
        body = before[name]
        if not body or not came:
            continue
        best = max(came, key=lambda other: len(body & after[other]))
        share = len(body & after[best]) / len(body)
        if share >= SAME or (share >= SIMILAR and _words(name) & _words(best)):
            pairs.append((name, best))
            came.remove(best)
    return tuple(pairs)


def _bodies(document: PageDocument) -> dict[str, set[str]]:
    """Each top-level section's lines (all but its own heading), known by compare key."""
    bodies: dict[str, set[str]] = {}
    for line in document.lines:
        if not line.section:
            continue
        body = bodies.setdefault(line.section[0], set())
        if not (line.is_heading and len(line.section) == 1):
            body.add(compare_key(line.text))
    return bodies


def _words(heading: str) -> set[str]:
    return {word for word in re.findall(r"\w+", heading.lower()) if len(word) > 2}
