"""The lines of a change: each line's part in it (context, added, removed, rewritten, moved),
each section's counts, and the word marks; what the change log stores and every output
renders. `change.py` holds the changes made of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from watcher.extract.document import SectionPath

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
