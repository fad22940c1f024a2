"""The configuration's rules for sources, derived from what each kind declares.

`config/` reads the file knowing nothing of the kinds; `watcher/loading.py` hands it these
rules, which it applies to every source as the file is read, naming the key of each problem:

- `kind` is `auto` or a kind of `KINDS`;
- `select` and each `exclude` are written in a language some kind reads (CSS, or XPath, by
  default; a jq program after `jq:`) and compile in it;
- an `auto` source is of the kind its options claim (`match`: a feed; `jq:...` or `key`:
  JSON);
- a source of a kind uses only the options that kind declares, in its selector language,
  fetched in a way it allows.
"""

from __future__ import annotations

from watcher.config.model import SourceConfig
from watcher.extract.kinds import KINDS, Kind, Syntax

OPTIONS = ("select", "exclude", "match", "key", "documents")


def kind_names() -> tuple[str, ...]:
    """What `kind` may be: "auto", "page" and the other kinds, in the registry's order."""
    return ("auto", "page", *(name for name in KINDS if name != "page"))


def source_kind(source: SourceConfig) -> str:
    """The kind as written; for `auto`, the one kind its options claim, else "auto"."""
    if source.kind != "auto":
        return source.kind
    used = _used(source)
    for kind in KINDS.values():
        if kind.claims & used:
            return kind.name
        if source.select is not None and kind.selector and kind.selector.writes(source.select):
            return kind.name
    return "auto"


def source_problems(source: SourceConfig) -> list[tuple[str, str]]:
    """What is wrong with a source, as (the key under the source, or "" for the source as a
    whole; the problem)."""
    if source.kind != "auto" and source.kind not in KINDS:
        names = [f"'{name}'" for name in kind_names()]
        return [
            ("kind", f"unknown kind {source.kind!r}: use {', '.join(names[:-1])} or {names[-1]}")
        ]
    problems: list[tuple[str, str]] = []
    selectors = [("select", source.select)] if source.select is not None else []
    selectors += [(f"exclude[{index}]", text) for index, text in enumerate(source.exclude)]
    for key, text in selectors:
        try:
            _syntax(text).compile(text)
        except ValueError as exc:
            problems.append((key, str(exc)))
    name = source_kind(source)
    if name != "auto":
        problems += [("", problem) for problem in _misfits(source, KINDS[name], selectors)]
    return problems


def _misfits(source: SourceConfig, kind: Kind, selectors: list[tuple[str, str]]) -> list[str]:
    """How a source asks of its kind what the kind does not declare: the first found."""
    for problem in (
        _fetch_misfit(source, kind),
        _option_misfit(source, kind),
        *(_syntax_misfit(text, kind) for _, text in selectors),
    ):
        if problem:
            return [problem]
    return []


def _fetch_misfit(source: SourceConfig, kind: Kind) -> str | None:
    if source.fetch in kind.fetches:
        return None
    able = " or ".join(k.what for k in KINDS.values() if source.fetch in k.fetches)
    return f"fetch = '{source.fetch}' is for {able}; it cannot be used with kind = '{kind.name}'"


def _option_misfit(source: SourceConfig, kind: Kind) -> str | None:
    unread = [option for option in OPTIONS if option in _used(source) - kind.options]
    if not unread:
        return None
    names = " and ".join(f"'{option}'" for option in unread)
    return f"{names} {'does' if len(unread) == 1 else 'do'} not apply to kind = '{kind.name}'"


def _syntax_misfit(selector: str, kind: Kind) -> str | None:
    written = _syntax(selector)
    if kind.selector is None or written is kind.selector:
        return None
    if written.prefix:  # it says which language it is in: another kind's
        owner = next(k for k in KINDS.values() if k.selector is written)
        return (
            f"{written.what} selects from {owner.what}; it cannot be used with kind = '{kind.name}'"
        )
    return (
        f"kind = '{kind.name}' selects with {kind.selector.what}:"
        f" select = '{kind.selector.example}'"
    )


def _used(source: SourceConfig) -> frozenset[str]:
    given = {"select": source.select is not None, "exclude": bool(source.exclude)}
    given["match"] = source.match is not None
    given["key"] = source.key is not None
    given["documents"] = bool(source.documents)
    return frozenset(option for option, there in given.items() if there)


def _syntax(selector: str) -> Syntax:
    """The language a selector is written in: the one whose prefix it starts with, else the
    default (the one with no prefix)."""
    syntaxes = [kind.selector for kind in KINDS.values() if kind.selector is not None]
    for syntax in syntaxes:
        if syntax.writes(selector):
            return syntax
    return next(syntax for syntax in syntaxes if not syntax.prefix)
