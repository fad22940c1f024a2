"""What a kind of source is (`Kind`), what it is given to read (`Reading`), and the selector
languages kinds declare (`Syntax`): the vocabulary the kinds' modules share, apart from
their registry (`extract/kinds/__init__.py`), which imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from watcher.config.sources import Source
from watcher.extract.document import Document
from watcher.extract.errors import ExtractError


@dataclass(frozen=True, slots=True)
class Reading:
    """A response to read, with what the check knows that reading may use."""

    body: bytes
    content_type: str | None
    source: Source
    known: str | None = None  # a page: the fingerprint its selected markup had last time
    noise: frozenset[str] = frozenset()  # a page: the lines learned as noise
    warnings: list[str] = field(default_factory=list)  # what was off but could be read past
    url: str | None = None  # where the response came from (after redirects), if not the source's

    @property
    def media(self) -> str:
        return (self.content_type or "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Syntax:
    """A language `select` and `exclude` are written in."""

    what: str  # in a sentence: "a jq program"
    prefix: str  # how a selector says it is written in it ("jq:"); "" for the default
    example: str  # a selector written in it, for a hint
    compile: Callable[[str], object]  # raises ValueError saying what is wrong

    def writes(self, selector: str) -> bool:
        return bool(self.prefix) and selector.startswith(self.prefix)


class Kind(Protocol):
    name: str
    what: str  # in a sentence: "HTML", "a feed"
    media_types: tuple[str, ...]  # what it reads, most wanted first (no parameters)
    options: frozenset[str]  # which of a source's `select`, `exclude` and `match` it reads
    selector: Syntax | None  # what its `select` and `exclude` are written in
    claims: frozenset[str]  # options that make an `auto` source this kind (a feed's `match`)
    fetches: tuple[str, ...]  # how it may be fetched: "http"; "browser" renders it first

    def sniff(self, body: bytes, media: str) -> bool:
        """Does a response with this body and media type (lower case, no parameters) look
        like this kind? Only the first few KB of the body need be looked at."""
        ...

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        """The document, and a fingerprint of what was read when the kind keeps one (None:
        the fingerprint is `reading.known`, nothing that matters changed). Raises
        `ExtractError` (or another `CheckError`) with the reason when it cannot."""
        ...


class NotReadable(ExtractError):
    """A response no kind reads; the registry names what watcher reads in the reason."""
