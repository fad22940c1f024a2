"""What extraction produces: a page as sectioned lines, a feed as keyed entries.

Both serialise to compact JSON for snapshots and hash stably, so "did the part that matters
change?" is one comparison of hashes.

A document is made in an extraction worker and sent to the service, which mostly stores it
and asks a few things of it (its hash, its outline, its sections). So the worker packs it in
its stored form (`packed`, `watcher.packing`) and works out those answers; pickled once
packed, a document travels as its packed bytes and those answers, and its lines or entries
are read back from the packed form only where they are asked for (a 2,000-line page: its
bytes, not 2,000 objects to unpickle, then to encode and compress again to store).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from watcher.packing import pack, unpack

SectionPath = tuple[str, ...]

# Line kinds: "title", "h1".."h6", "text", "item", "row", "footnote", "updated", "document"
# (a linked document the source follows, by its label).
HEADING_KINDS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def compare_key(text: str) -> str:
    """What two lines must share to be the same line: their text without any whitespace."""
    return "".join(text.split())


@dataclass(frozen=True, slots=True)
class Line:
    section: SectionPath
    kind: str
    text: str

    @property
    def is_heading(self) -> bool:
        return self.kind in HEADING_KINDS

    def __reduce__(self) -> tuple[type[Line], tuple[SectionPath, str, str]]:
        # Pickled as its three fields (documents come back from the extraction workers):
        # ~5x cheaper than a frozen dataclass's slots, set one by one.
        return Line, (self.section, self.kind, self.text)


def top_sections(document: PageDocument) -> list[str]:
    """The page's top-level headings, in order, each once: the sections a reader can follow."""
    return list(document._top_sections)


class _Packable(ABC):
    """What pages and feeds share: their packed form, made once, and pickling as it (the
    body field, `_BODY`, is then left out and read back from it on first use)."""

    _BODY: str

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...

    @abstractmethod
    def content_hash(self) -> str: ...

    def packed(self) -> bytes:
        """The document as stored (`watcher.packing`): made once, then kept."""
        return self._packed

    def finish(self) -> None:
        """Work out now, where the document was made (an extraction worker), what the
        service will ask of it, and pack it: it travels and is stored as it is."""
        self.content_hash()
        self.packed()

    @cached_property
    def _packed(self) -> bytes:
        return pack(self.to_json())

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        if "_packed" in state:
            state.pop(self._BODY, None)
        return _revive, (type(self), state)

    def __getattr__(self, name: str) -> Any:
        # Only asked for what is not set: the body of a document revived without it.
        if name != self._BODY or "_packed" not in self.__dict__:
            raise AttributeError(name)
        whole = document_from_json(unpack(self.__dict__["_packed"]))
        value = getattr(whole, name)
        self.__dict__[name] = value
        return value


def _revive(cls: type[Any], state: dict[str, Any]) -> Any:
    document = object.__new__(cls)
    document.__dict__.update(state)
    return document


@dataclass(frozen=True)
class PageDocument(_Packable):
    lines: tuple[Line, ...]
    title: str | None = None
    updated: str | None = None
    kind: str = field(default="page", init=False)
    # The documents it links to that its source follows (`documents = ...`): (URL, label)
    # each, in page order; each has a line of kind "document" with its label.
    documents: tuple[tuple[str, str], ...] = ()

    _BODY = "lines"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": "page",
            "title": self.title,
            "updated": self.updated,
            "lines": [[list(line.section), line.kind, line.text] for line in self.lines],
        }
        if self.documents:  # a page that follows no documents is stored as it always was
            data["documents"] = [[url, label] for url, label in self.documents]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageDocument:
        lines = tuple(Line(tuple(section), kind, text) for section, kind, text in data["lines"])
        documents = tuple((url, label) for url, label in data.get("documents") or ())
        return cls(
            lines=lines, title=data.get("title"), updated=data.get("updated"), documents=documents
        )

    def finish(self) -> None:
        super().finish()
        self.outline()
        top_sections(self)

    def outline(self) -> tuple[int, int]:
        """How many lines, in how many top-level sections."""
        return self._outline

    @cached_property
    def _outline(self) -> tuple[int, int]:
        return len(self.lines), len({line.section[0] for line in self.lines if line.section})

    @cached_property
    def _top_sections(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for line in self.lines:
            if line.is_heading and len(line.section) == 1:
                names.setdefault(line.section[0], None)
        return tuple(names)

    def content_hash(self) -> str:
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        # Only the lines count (a new <title> outside the selected part is no change), and
        # only their words: a difference in whitespace alone is no change either.
        shape: dict[str, Any] = {
            "lines": [[line.kind, compare_key(line.text)] for line in self.lines]
        }
        if self.documents:  # a linked document's new address is a change too
            shape["documents"] = sorted(url for url, _ in self.documents)
        return _hash(shape)

    def render_text(self) -> str:
        """The document as an editor would read it: headings, then their lines."""
        out: list[str] = []
        for line in self.lines:
            if line.is_heading or line.kind == "title":
                if out:
                    out.append("")
                out.append(line.text)
                out.append("=" * min(len(line.text), 72))
            else:
                out.append(f"- {line.text}" if line.kind == "item" else line.text)
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    title: str
    link: str | None
    date: str | None
    summary: str

    def to_json(self) -> list[Any]:
        return [self.key, self.title, self.link, self.date, self.summary]

    def __reduce__(self) -> tuple[type[Entry], tuple[Any, ...]]:
        return Entry, (self.key, self.title, self.link, self.date, self.summary)  # as Line

    @classmethod
    def from_json(cls, data: list[Any]) -> Entry:
        return cls(*data)


@dataclass(frozen=True)
class FeedDocument(_Packable):
    entries: tuple[Entry, ...]
    title: str | None = None
    # Keys of entries seen in earlier checks that have since dropped out of the feed: an entry
    # that comes back (feeds keep only their latest N items) is not news a second time.
    seen: tuple[str, ...] = ()
    kind: str = field(default="feed", init=False)

    _BODY = "entries"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "feed",
            "title": self.title,
            "entries": [entry.to_json() for entry in self.entries],
            "seen": list(self.seen),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedDocument:
        entries = tuple(Entry.from_json(item) for item in data["entries"])
        return cls(entries=entries, title=data.get("title"), seen=tuple(data.get("seen", ())))

    def content_hash(self) -> str:
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        # `seen` is bookkeeping, not content: it must not make an unchanged feed look changed.
        return _hash({"title": self.title, "entries": [e.to_json() for e in self.entries]})


Document = PageDocument | FeedDocument


def document_from_json(data: dict[str, Any]) -> Document:
    if data.get("kind") == "feed":
        return FeedDocument.from_json(data)
    return PageDocument.from_json(data)


def _hash(data: dict[str, Any]) -> str:
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()
