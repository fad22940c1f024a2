"""What a diff produces: a page change (sections, hunks, dates) or a feed change (entries).

These records are what the change log stores and what emails and web pages render, so they
carry everything needed to explain a change without the snapshots it came from. Their JSON
form is the stable, documented output of `watcher show --json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from watcher.diff.lines import (
    INTRODUCTION,
    DiffLine,
    Headline,
    Joined,
    LineOp,
    Mark,
    SectionChange,
    SectionStatus,
)
from watcher.diff.summary import phrases
from watcher.extract.document import Entry

__all__ = [
    "INTRODUCTION",
    "Change",
    "DiffLine",
    "EntryChange",
    "FeedChange",
    "Headline",
    "Joined",
    "LineOp",
    "Mark",
    "PageChange",
    "SectionChange",
    "SectionStatus",
    "change_from_json",
]


@dataclass(frozen=True, slots=True)
class LinkedDocument:
    """A document the page links to (its source follows them), new or no longer linked; a
    new one with its first lines, when it could be read as the page was checked."""

    status: Literal["new", "removed"]
    label: str
    url: str
    excerpt: tuple[str, ...] = ()

    @property
    def phrase(self) -> str:
        said = "New document" if self.status == "new" else "Document removed"
        return f"{said}: {self.label}"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "label": self.label,
            "url": self.url,
            "excerpt": list(self.excerpt),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkedDocument:
        return cls(data["status"], data["label"], data["url"], tuple(data.get("excerpt") or ()))


def linked_changes(
    old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...]
) -> tuple[LinkedDocument, ...]:
    """The documents newly linked, in the page's order, then those no longer linked."""
    before, after = dict(old), dict(new)
    return (
        *(LinkedDocument("new", label, url) for url, label in new if url not in before),
        *(LinkedDocument("removed", label, url) for url, label in old if url not in after),
    )


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
    documents: tuple[LinkedDocument, ...] = ()  # linked documents new and gone

    @property
    def updated(self) -> bool:
        return self.updated_old != self.updated_new

    def headlines(self) -> list[Headline]:
        """Top-level sections that changed, in document order, each named once (what comes
        before the first heading by the page's own title, as the pages show it)."""
        found: dict[str, SectionStatus] = {}
        for section in self.sections:
            name = section.path[0] if section.path else (self.title or INTRODUCTION)
            top_level = len(section.path) <= 1
            if name not in found:
                found[name] = section.status if top_level else "changed"
            elif top_level and section.status != "changed":
                found[name] = section.status
        return [Headline(name, status) for name, status in found.items()]

    def phrases(self, *, dates: bool = True, renames: bool = True) -> list[str]:
        """The change in plain words, a phrase each (`diff.summary`)."""
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
            **(
                {"documents": [document.to_json() for document in self.documents]}
                if self.documents
                else {}
            ),
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
            documents=tuple(LinkedDocument.from_json(item) for item in data.get("documents", [])),
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
