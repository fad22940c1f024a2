"""JSON: an API's answer, or the part a jq program picks (`select = "jq:.countries.VN"`), as
sectioned lines that diff, render and notify read like a page's.

Each value becomes one line keyed by its path (`treaty.votes[2]: 2025`), in a section named
by its top-level key, so a changed field is one rewritten line with its words marked; the
top-level values themselves stand under the document's own name (the source's), never a
made-up section. An item of a list of objects that all carry one of `KEY_FIELDS` with a
value of its own is known by it (`[id=31898046].login: ...`), not by its place: a new first
element (GitHub's lists come newest first) is one item added, and an item that moved is a
move, never every later item rewritten. Keys are sorted and whitespace is not kept: neither
the order of an object's keys nor the way the body is indented is ever a change. Strings
are cleaned of what a terminal or an email would obey (`watcher.text.clean`), as every
other remote text is.

A document holds at most `MAX_VALUES` lines: a 5 MB array of 2.4 million zeros would be 2.4
million lines (and half a gigabyte); it is refused before they are made, saying to select
the part that matters with jq, so that reading JSON needs memory in proportion to its body.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from watcher.extract.document import Document, Line, PageDocument
from watcher.extract.errors import ExtractError
from watcher.extract.kinds.kind import Reading, Syntax
from watcher.text import clean

JQ_PREFIX = "jq:"
MAX_DEPTH = 200  # nesting deeper than this is refused, not walked
MAX_VALUES = 100_000  # lines of one document
KEY_FIELDS = ("id", "number", "key", "name", "sha", "node_id")  # what names a list's items


@lru_cache(maxsize=1024)
def compile_program(select: str) -> Any:
    """The jq program of `jq:...`, compiled once; ValueError naming what is wrong."""
    import jq  # only a process with a JSON source pays for it

    expression = select.removeprefix(JQ_PREFIX).strip()
    if not expression:
        raise ValueError("empty jq program after 'jq:'")
    try:
        return jq.compile(expression)
    except ValueError as exc:
        raise ValueError(f"invalid jq program {expression!r}: {_first_line(exc)}") from None


class JsonKind:
    name = "json"
    what = "JSON"
    media_types: tuple[str, ...] = ("application/json",)
    options: frozenset[str] = frozenset({"select", "key"})
    selector: Syntax | None = Syntax("a jq program", JQ_PREFIX, "jq:.path", compile_program)
    claims: frozenset[str] = frozenset({"key"})
    fetches: tuple[str, ...] = ("http",)

    def sniff(self, body: bytes, media: str) -> bool:
        if media == "application/json" or media.endswith("+json"):
            return True
        if media not in ("", "text/plain", "application/octet-stream"):
            return False
        return body[:64].lstrip()[:1] in (b"{", b"[")

    def read(self, reading: Reading) -> tuple[Document | None, str | None]:
        try:
            value = json.loads(reading.body)  # bytes: UTF-8, -16 or -32, as RFC 8259 allows
        except RecursionError:
            raise ExtractError("the JSON is nested too deeply to read") from None
        except ValueError as exc:
            raise ExtractError(f"not valid JSON: {exc}") from None
        select = reading.source.select
        if select is not None:
            value = _picked(select, value)
        try:
            lines = tuple(itertools.islice(_lines(value, reading.source.key), MAX_VALUES + 1))
        except RecursionError:
            raise ExtractError("the JSON is nested too deeply to read") from None
        if len(lines) > MAX_VALUES:
            raise ExtractError(
                f"the JSON holds more than {MAX_VALUES:,} values: select the part that matters"
                ' (select = "jq:...")'
            )
        return PageDocument(lines=lines, title=reading.source.name), None


def _picked(select: str, value: Any) -> Any:
    try:
        results = compile_program(select).input_value(value).all()
    except ValueError as exc:
        raise ExtractError(f"jq: {_first_line(exc)}") from None
    results = [result for result in results if result is not None]
    if not results:
        raise ExtractError(f"select {select!r} matched nothing")
    return results[0] if len(results) == 1 else results


def _lines(value: Any, named_by: str | None) -> Iterator[Line]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            name = _key(key)
            inner = value[key]
            if isinstance(inner, dict | list) and inner:
                yield Line((name,), "h2", name)
                yield from _leaves(inner, "", (name,), 1, named_by)
            else:
                yield Line((), "row", f"{name}: {_scalar(inner)}")
    else:
        yield from _leaves(value, "", (), 0, named_by)


def _leaves(
    value: Any, path: str, section: tuple[str, ...], depth: int, named_by: str | None
) -> Iterator[Line]:
    if depth > MAX_DEPTH:
        raise ExtractError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict) and value:
        for key in sorted(value):
            inner = f"{path}.{_key(key)}" if path else _key(key)
            yield from _leaves(value[key], inner, section, depth + 1, named_by)
    elif isinstance(value, list) and value:
        names = _item_names(value, named_by)
        for index, item in enumerate(value):
            name = names[index] if names is not None else index
            yield from _leaves(item, f"{path}[{name}]", section, depth + 1, named_by)
    else:
        yield Line(section, "row", f"{path}: {_scalar(value)}" if path else _scalar(value))


def _item_names(items: list[Any], named_by: str | None) -> list[str] | None:
    """What each item of a list is called in its lines: `id=31898046` when every item is an
    object with the same key field (the source's `key`, else the first of `KEY_FIELDS` they
    all have) holding a value no other item has; else None: its place, `0`, `1`, ... (named
    as its lines are made: a list of millions is refused after `MAX_VALUES` of them, before
    a name is made for each)."""
    if all(isinstance(item, dict) for item in items):
        for field in (named_by, *KEY_FIELDS) if named_by else KEY_FIELDS:
            values = [item.get(field) for item in items]
            if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
                names = [f"{field}={_scalar(v)}" for v in values]
                if len(set(names)) == len(names):
                    return names
    return None


def _key(key: str) -> str:
    return " ".join(clean(key).split()) or '""'


_LITERALS = {True: "true", False: "false", None: "null"}


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(clean(value).split()) or '""'
    if value is None or isinstance(value, bool):
        return _LITERALS[value]
    if isinstance(value, int):  # as JSON writes them, without its encoder's cost a value
        return str(value)
    if isinstance(value, dict | list):  # empty
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
