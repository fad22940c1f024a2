"""What one reader wants of a change: whole countries, some sections, keywords.

A reader follows countries whole (as always), or some top-level sections of a country's
pages ("Mine Ban Policy" of Vietnam), or a section in every country ("Cluster Munition Ban
Policy", everywhere), and may add keywords, matched in every country's pages and feeds.
`Interest.narrow(country, change)` is the part of a change such a reader is told about, or
None when nothing they chose changed (no email then):

- a country followed whole, with no sections chosen for it: the whole change;
- otherwise, of a page: the chosen sections (the country's and the everywhere ones) with
  their lines, and any other line a keyword matches; the "Last Updated" date comes along
  whenever anything is kept. Of a feed: the whole change when the reader chose sections of
  that country (its news stays included unless they turned it off: `quiet`), else the
  entries a keyword matches.

Keywords match in any case and in the inflections one simple rule covers: each word of a
keyword, its ending `-e`, `-s`, `-es`, `-ed` or `-ing` set aside, matches a word that
starts with what is left and goes on with at most one of `e`, `s`, `es`, `d`, `ed`, `ing`,
`er`, `ers`, `ion`, `ions` (or its last consonant doubled before `ed` or `ing`): "accede"
matches "accedes", "acceded", "acceding"; "ban" matches "bans", "banned", not "banner";
"cluster munition" matches "Cluster Munitions"; the words of a phrase follow one another with only
spaces, hyphens or punctuation between. Nothing is stemmed any further ("accession" is a
word of its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TypedDict

from watcher.diff.change import (
    INTRODUCTION,
    Change,
    DiffLine,
    EntryChange,
    FeedChange,
    PageChange,
)

EVERYWHERE = "*"
ENDINGS = ("ing", "es", "ed", "s", "e")  # set aside from a keyword's words (longest first)
GROWTH = "(?:e|s|es|d|ed|ing|er|ers|ion|ions)?"  # what a matched word may go on with
MAX_KEYWORD = 100  # characters
MAX_KEYWORDS = 20  # per reader


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern that finds any of the keywords (see the module's rule); None for none."""
    alternatives = []
    for keyword in keywords:
        words = re.findall(r"\w+", keyword.lower())
        if not words:
            continue
        parts = []
        for word in words:
            stem = word
            for ending in ENDINGS:
                if word.endswith(ending) and len(word) - len(ending) >= 3:
                    stem = word[: -len(ending)]
                    break
            last = stem[-1]
            doubled = f"|{re.escape(last)}ed|{re.escape(last)}ing" if last not in "aeiouy" else ""
            parts.append(re.escape(stem) + GROWTH.replace(")?", f"{doubled})?"))
        alternatives.append(r"\b" + r"[\W_]+".join(parts) + r"\b")
    if not alternatives:
        return None
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def clean_keyword(text: str) -> str:
    """A keyword as stored: one line of words, at most `MAX_KEYWORD` characters."""
    return " ".join(text.split())[:MAX_KEYWORD]


@dataclass(frozen=True)
class Interest:
    countries: frozenset[str] = frozenset()  # followed whole; "*" for every country
    sections: frozenset[tuple[str, str]] = frozenset()  # (country or "*", section name)
    keywords: tuple[str, ...] = ()
    quiet: frozenset[str] = frozenset()  # countries whose news (feeds) the reader turned off

    @property
    def narrowed(self) -> bool:
        """Does this reader choose sections or keywords (else: whole countries only)?"""
        return bool(self.sections or self.keywords)

    def key(self, country: str) -> tuple[object, ...]:
        """Readers with the same key get the same part of a country's changes."""
        if self.whole(country) and not self.keywords:
            return ("whole",)
        return (self.whole(country), self.names(country), self.keywords, self.news(country))

    def whole(self, country: str) -> bool:
        follows = country in self.countries or EVERYWHERE in self.countries
        return follows and not any(code == country for code, _ in self.sections)

    def news(self, country: str) -> bool:
        """Does this reader hear all of the country's news (its feeds' entries)? Followed
        whole, yes; with sections of the country chosen, yes unless they turned it off."""
        if self.whole(country):
            return True
        chosen = any(code == country for code, _ in self.sections)
        return chosen and country not in self.quiet

    def names(self, country: str) -> frozenset[str]:
        return frozenset(name for code, name in self.sections if code in (country, EVERYWHERE))

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return keyword_pattern(self.keywords)

    def narrow(self, country: str, change: Change) -> Change | None:
        """The part of `change` (of a source of `country`) this reader is told about."""
        if self.whole(country):
            return change
        if isinstance(change, FeedChange):
            if self.news(country):
                return change
            entries = tuple(item for item in change.entries if self._matches(_entry_text(item)))
            return replace(change, entries=entries) if entries else None
        names = self.names(country)
        # A section renamed in this change: its lines under the old heading are theirs too.
        names |= {old for old, new in change.renamed if new in names or old in names}
        names |= {new for old, new in change.renamed if old in names}
        return self._narrow_page(change, names)

    def _matches(self, text: str) -> bool:
        return self.pattern is not None and self.pattern.search(text) is not None

    def _narrow_page(self, change: PageChange, names: frozenset[str]) -> PageChange | None:
        def chosen(path: Sequence[str]) -> bool:
            return (path[0] if path else INTRODUCTION) in names

        def kept(line: DiffLine) -> bool:
            if chosen(line.section) or (line.op == "moved" and chosen(line.origin or ())):
                return True
            return line.op != "context" and self._matches(f"{line.text}\n{line.old or ''}")

        hunks = []
        for hunk in change.hunks:
            lines = tuple(line for line in hunk if kept(line))
            if any(line.op != "context" for line in lines):
                hunks.append(lines)
        touched = {line.section for hunk in hunks for line in hunk if line.op != "context"}
        sections = tuple(
            section
            for section in change.sections
            if chosen(section.path) or section.path in touched
        )
        if not hunks and not any(section.status != "changed" for section in sections):
            return None
        return PageChange(
            title=change.title,
            updated_old=change.updated_old,
            updated_new=change.updated_new,
            sections=sections,
            hunks=tuple(hunks),
            renamed=change.renamed,
            size=change.size,
            **_counts(hunks),
        )


class _Counts(TypedDict):
    added: int
    removed: int
    changed: int
    moved: int


def _counts(hunks: Sequence[Sequence[DiffLine]]) -> _Counts:
    ops = [line.op for hunk in hunks for line in hunk]
    return {
        "added": ops.count("added"),
        "removed": ops.count("removed"),
        "changed": ops.count("changed"),
        "moved": ops.count("moved"),
    }


def _entry_text(item: EntryChange) -> str:
    texts = [item.entry.title, item.entry.summary]
    if item.previous is not None:
        texts += [item.previous.title, item.previous.summary]
    return "\n".join(text or "" for text in texts)
