"""What a diff produces: a page change (sections, hunks, dates) or a feed change (entries).

These records are what the change log stores and what emails and web pages render, so they
carry everything needed to explain a change without the snapshots it came from. Their JSON
form is the stable, documented output of `watcher show --json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from watcher.extract.document import Entry, SectionPath

LineOp = Literal["context", "added", "removed", "changed", "moved"]
# A line of a split or merged paragraph: its old side ("old") or its new side ("new") and the
# line before it's were one line, joined by a space.
Joined = Literal["old", "new"]
SectionStatus = Literal["changed", "added", "removed"]
INTRODUCTION = "Introduction"
# Word marks: "=" unchanged text, "-" removed text, "+" added text.
Mark = tuple[str, str]


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a change. `changed`: `old` rewritten as `text` (`marks` say which words).
    `moved`: the line at `at[0]` of the old version, under `origin`, is now at `at[1]` under
    `section`; `old` and `marks` are there when it was edited on the way. `joined`: this
    line and the one before it are parts of one paragraph split ("old") or merged ("new")."""

    op: LineOp
    section: SectionPath
    kind: str
    text: str
    old: str | None = None
    marks: tuple[Mark, ...] | None = None
    origin: SectionPath | None = None
    at: tuple[int, int] | None = None  # (line in the old version, line in the new), from 1
    joined: Joined | None = None

    def __reduce__(self) -> tuple[type[DiffLine], tuple[Any, ...]]:
        # Pickled as its fields (changes come back from the extraction workers), as `Line`.
        fields = (self.op, self.section, self.kind, self.text, self.old, self.marks)
        return DiffLine, (*fields, self.origin, self.at, self.joined)

    @property
    def edited(self) -> bool:
        """Does the text differ between its old and new sides (a move may carry no edit)?"""
        return self.old is not None and self.old != self.text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": self.op,
            "section": list(self.section),
            "kind": self.kind,
            "text": self.text,
        }
        if self.op == "changed" or (self.op == "moved" and self.old is not None):
            data["old"] = self.old
            data["marks"] = [list(mark) for mark in self.marks] if self.marks else None
        if self.op == "moved" and self.at is not None:
            data["from"] = {"section": list(self.origin or ()), "line": self.at[0]}
            data["to"] = {"section": list(self.section), "line": self.at[1]}
        if self.joined:
            data["joined"] = self.joined
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiffLine:
        marks = data.get("marks")
        origin, at = None, None
        if "from" in data and "to" in data:
            origin = tuple(data["from"]["section"])
            at = (data["from"]["line"], data["to"]["line"])
        return cls(
            op=data["op"],
            section=tuple(data["section"]),
            kind=data["kind"],
            text=data["text"],
            old=data.get("old"),
            marks=tuple((op, text) for op, text in marks) if marks else None,
            origin=origin,
            at=at,
            joined=data.get("joined"),
        )


@dataclass(frozen=True, slots=True)
class SectionChange:
    path: SectionPath
    status: SectionStatus
    added: int = 0
    removed: int = 0
    changed: int = 0
    moved: int = 0  # lines moved into the section (from it, or from another)

    @property
    def name(self) -> str:
        return " > ".join(self.path) if self.path else INTRODUCTION

    def to_json(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "status": self.status,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "moved": self.moved,
        }


@dataclass(frozen=True, slots=True)
class Headline:
    """A top-level section as a subject line names it: `Cluster Munition Ban Policy (new)`."""

    name: str
    status: SectionStatus

    def __str__(self) -> str:
        suffix = {"added": " (new)", "removed": " (removed)"}.get(self.status, "")
        return f"{self.name}{suffix}"


@dataclass(frozen=True)
class PageChange:
    title: str | None
    updated_old: str | None
    updated_new: str | None
    sections: tuple[SectionChange, ...]
    hunks: tuple[tuple[DiffLine, ...], ...]
    added: int
    removed: int
    changed: int
    kind: str = "page"
    renamed: tuple[tuple[str, str], ...] = ()  # (old, new) top-level headings (renames.py)
    moved: int = 0
    size: tuple[int, int] | None = None  # characters of watched text, old and new version

    @property
    def updated(self) -> bool:
        return self.updated_old != self.updated_new

    def headlines(self) -> list[Headline]:
        """Top-level sections that changed, in document order, each named once."""
        found: dict[str, SectionStatus] = {}
        for section in self.sections:
            name = section.path[0] if section.path else INTRODUCTION
            top_level = len(section.path) <= 1
            if name not in found:
                found[name] = section.status if top_level else "changed"
            elif top_level and section.status != "changed":
                found[name] = section.status
        return [Headline(name, status) for name, status in found.items()]

    def phrases(self, *, dates: bool = True, renames: bool = True) -> list[str]:
        """The change in plain words, a phrase each (`diff.summary`)."""
        from watcher.diff.summary import phrases  # it reads this module's records

        return phrases(self, dates=dates, renames=renames)

    def summary(self) -> str:
        """`Last Updated: 02 November 2011 → 29 October 2012 · Casualties: 56 → 57 · Mine Ban
        Policy: 2 paragraphs rewritten, 1 added`: the log's, the queue's and the feeds' line."""
        said = self.phrases()
        if said:
            return " · ".join(said)
        lines = self.added + self.removed + self.changed + self.moved
        return f"{lines} line{'s' if lines != 1 else ''} changed"

    def to_json(self) -> dict[str, Any]:
        updated = {"old": self.updated_old, "new": self.updated_new} if self.updated else None
        return {
            "kind": "page",
            "title": self.title,
            "updated": updated,
            "sections": [section.to_json() for section in self.sections],
            "stats": {
                "added": self.added,
                "removed": self.removed,
                "changed": self.changed,
                "moved": self.moved,
            },
            "hunks": [[line.to_json() for line in hunk] for hunk in self.hunks],
            "renamed": [{"old": old, "new": new} for old, new in self.renamed],
            "size": {"old": self.size[0], "new": self.size[1]} if self.size else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageChange:
        updated = data.get("updated") or {}
        stats = data["stats"]
        return cls(
            title=data.get("title"),
            updated_old=updated.get("old"),
            updated_new=updated.get("new"),
            sections=tuple(
                SectionChange(
                    tuple(item["path"]),
                    item["status"],
                    item["added"],
                    item["removed"],
                    item["changed"],
                    item.get("moved", 0),
                )
                for item in data["sections"]
            ),
            hunks=tuple(tuple(DiffLine.from_json(line) for line in hunk) for hunk in data["hunks"]),
            added=stats["added"],
            removed=stats["removed"],
            changed=stats["changed"],
            renamed=tuple((item["old"], item["new"]) for item in data.get("renamed", [])),
            moved=stats.get("moved", 0),
            size=(data["size"]["old"], data["size"]["new"]) if data.get("size") else None,
        )


@dataclass(frozen=True, slots=True)
class EntryChange:
    status: Literal["new", "updated"]
    entry: Entry
    previous: Entry | None = None

    @property
    def fields(self) -> list[str]:
        if self.previous is None:
            return []
        names = ("title", "summary", "date")
        return [name for name in names if getattr(self.entry, name) != getattr(self.previous, name)]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "key": self.entry.key,
            "title": self.entry.title,
            "link": self.entry.link,
            "date": self.entry.date,
            "summary": self.entry.summary,
            "fields": self.fields,
            "previous": None,
        }
        if self.previous is not None:
            data["previous"] = {
                "title": self.previous.title,
                "date": self.previous.date,
                "summary": self.previous.summary,
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryChange:
        entry = Entry(data["key"], data["title"], data["link"], data["date"], data["summary"])
        previous = data.get("previous")
        old = None
        if previous is not None:
            old = Entry(
                data["key"], previous["title"], data["link"], previous["date"], previous["summary"]
            )
        return cls(status=data["status"], entry=entry, previous=old)


@dataclass(frozen=True)
class FeedChange:
    title: str | None
    entries: tuple[EntryChange, ...]
    kind: str = "feed"

    def summary(self) -> str:
        new = sum(1 for item in self.entries if item.status == "new")
        updated = len(self.entries) - new
        parts = []
        if new:
            parts.append(f"{new} new {'entry' if new == 1 else 'entries'}")
        if updated:
            parts.append(f"{updated} updated")
        titles = "; ".join(item.entry.title for item in self.entries[:3])
        more = f" and {len(self.entries) - 3} more" if len(self.entries) > 3 else ""
        return f"{', '.join(parts)}: {titles}{more}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "feed",
            "title": self.title,
            "entries": [item.to_json() for item in self.entries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedChange:
        return cls(
            title=data.get("title"),
            entries=tuple(EntryChange.from_json(item) for item in data["entries"]),
        )


Change = PageChange | FeedChange


def change_from_json(data: dict[str, Any]) -> Change:
    if data.get("kind") == "feed":
        return FeedChange.from_json(data)
    return PageChange.from_json(data)
