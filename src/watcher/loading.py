"""The configuration as the programs load it: the file's own rules (`config/`), and those of
the kinds of source (`extract/kinds/rules.py`) and of channel (`notify/channels/`), handed to
it from their registries so that `config/` knows nothing above it.

Every program (the command line, the service, the demo) and every test reads its
configuration through `load_config` or `build_config` here; a source given alone (a desk's
form, `watcher try`, the API's preview) is checked by the same rules in `source_from`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from watcher.config import Config, ConfigError, Source, loader
from watcher.config.model import CountryConfig, SourceConfig
from watcher.config.sources import resolve_source
from watcher.notify import channels
from watcher.store.desk import DeskSource


class Registries:
    """The rules of the kinds and channels watcher has (`config.rules.Rules`). The kinds'
    modules are imported when a source is first checked: a cached configuration needs none."""

    def fingerprint(self) -> str:
        return _code_digest()

    def source_kind(self, source: SourceConfig) -> str:
        from watcher.extract.kinds.rules import source_kind

        return source_kind(source)

    def source_problems(self, source: SourceConfig) -> list[tuple[str, str]]:
        from watcher.extract.kinds.rules import source_problems

        return source_problems(source)

    def channel_kind(self, url: str) -> str:
        return channels.kind_name(url)

    def channel_problem(self, url: str) -> str | None:
        return channels.url_problem(url)

    def channel_secret(self, kind: str) -> int:
        return channels.secret_length(kind)


RULES = Registries()


def load_config(
    explicit: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The configuration named by `--config`, else `$WATCHER_CONFIG`, else
    `config/watcher.toml`."""
    return loader.load_config(explicit, environ, rules=RULES)


def build_config(data: dict[str, Any], environ: Mapping[str, str], path: Path | None) -> Config:
    """A configuration from a parsed file's tables (`data` is left as it was)."""
    return loader.build_config(data, environ, path, rules=RULES)


def source_from(
    fields: dict[str, Any], config: Config, country: str = "XX", country_name: str | None = None
) -> Source:
    """One source as a form, a command line or the API gives it (`url`, `kind`, `select`,
    ...: the keys of `[[countries.sources]]`), checked by every rule the file's sources are,
    resolved with `config`'s `[checks]`. A country the file does not have takes
    `country_name`. Raises `ConfigError`, a line per problem, each naming its field
    (`select: invalid CSS selector ...`)."""
    home = _country(config, country, country_name)
    try:
        model = SourceConfig.model_validate(fields)
    except ValidationError as exc:
        raise ConfigError(loader.explain_fields(exc, SourceConfig)) from None
    problems = RULES.source_problems(model)
    if problems:
        raise ConfigError([f"{key}: {what}" if key else what for key, what in problems])
    return resolve_source(config.settings, home, model, RULES.source_kind(model))


def _country(config: Config, code: str, name: str | None) -> CountryConfig:
    for country in config.settings.countries:
        if country.code == code.upper():
            return country
    try:
        return CountryConfig(code=code, name=name or code.upper())
    except ValidationError:
        raise ConfigError([f"country: {code!r} is not a country code (e.g. 'VN')"]) from None


def with_desk(config: Config, desk: Sequence[DeskSource]) -> tuple[Config, list[str]]:
    """The file's configuration and the desk's sources, as one: each desk source checked by
    the same rules (`source_from`), its new country added. The file's own sources win: a
    desk source whose id the file has since taken is left out, as is one the rules now
    refuse (an upgrade that dropped a kind); the second value says which, and why."""
    sources = list(config.sources)
    taken = {source.id for source in sources}
    countries = list(config.settings.countries)
    known = {country.code for country in countries}
    problems: list[str] = []
    added: set[str] = set()
    paused: set[str] = set()
    for entry in desk:
        if entry.id in taken:
            problems.append(
                f"desk source {entry.id}: the configuration file has a source of"
                " that id; the file's is used"
            )
            continue
        try:
            source = source_from(entry.fields, config, entry.country, entry.country_name)
        except ConfigError as exc:
            problems += [f"desk source {entry.id}: {problem}" for problem in exc.problems]
            continue
        if source.country not in known:
            countries.append(CountryConfig(code=source.country, name=source.country_name))
            known.add(source.country)
        if entry.found_on is not None:
            source = replace(source, found_on=entry.found_on)
        sources.append(source)
        taken.add(source.id)
        added.add(source.id)
        if entry.paused:
            paused.add(source.id)
    sources, orphans = _linked(sources)
    for orphan in orphans:
        problems.append(
            f"desk source {orphan.id}: linked from {orphan.found_on}, which no longer follows"
            " the documents it links to: not checked"
        )
        added.discard(orphan.id)
    settings = config.settings.model_copy(update={"countries": countries})
    merged = replace(
        config,
        settings=settings,
        sources=tuple(sources),
        desk=frozenset(added),
        paused=frozenset(paused),
    )
    return merged, problems


def _linked(sources: list[Source]) -> tuple[list[Source], list[Source]]:
    """The linked documents with their pages: a linked document's host is the operator's
    choice only when it is its page's; on any other host it must be public, as a redirect's
    must. One whose page is gone, or no longer follows its documents, is left out (not
    checked, its history kept) until the page follows them again; the second value says
    which."""
    pages = {source.id: source for source in sources}
    kept: list[Source] = []
    orphans: list[Source] = []
    for source in sources:
        if source.found_on is None:
            kept.append(source)
            continue
        page = pages.get(source.found_on)
        if page is None or not page.documents:
            orphans.append(source)
            continue
        same_host = urlsplit(page.url).hostname == urlsplit(source.url).hostname
        kept.append(replace(source, public_only=not same_host))
    return kept, orphans


@cache
def _code_digest() -> str:
    """The code the rules come from: the kinds' modules and the channels' registry."""
    here = Path(__file__).parent
    files = sorted((here / "extract" / "kinds").glob("*.py"))
    files += [here / "extract" / "select.py", here / "notify" / "channels" / "__init__.py"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()
