"""The configuration as the programs load it: the file's own rules (`config/`), and those of
the kinds of source (`extract/kinds/rules.py`) and of channel (`notify/channels/`), handed to
it from their registries so that `config/` knows nothing above it.

Every program (the command line, the service, the demo) and every test reads its
configuration through `load_config` or `build_config` here; a source given alone (a desk's
form, `watcher try`, the API's preview) is checked by the same rules in `source_from`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watcher.config import Config, ConfigError, Source, loader
from watcher.config.model import CountryConfig, SourceConfig
from watcher.config.sources import resolve_source
from watcher.notify import channels


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


def source_from(fields: dict[str, Any], config: Config, country: str = "XX") -> Source:
    """One source as a form, a command line or the API gives it (`url`, `kind`, `select`,
    ...: the keys of `[[countries.sources]]`), checked by every rule the file's sources are,
    resolved with `config`'s `[checks]`. Raises `ConfigError`, a line per problem, each
    naming its field (`select: invalid CSS selector ...`)."""
    countries = [c for c in config.settings.countries if c.code == country.upper()]
    home = countries[0] if countries else CountryConfig(code=country, name=country)
    try:
        model = SourceConfig.model_validate(fields)
    except ValidationError as exc:
        raise ConfigError(loader.explain_fields(exc, SourceConfig)) from None
    problems = RULES.source_problems(model)
    if problems:
        raise ConfigError([f"{key}: {what}" if key else what for key, what in problems])
    return resolve_source(config.settings, home, model, RULES.source_kind(model))


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
