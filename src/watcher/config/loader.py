"""Read `watcher.toml`, apply `WATCHER_<SECTION>__<KEY>` overrides, validate, resolve sources.

Every problem becomes a `ConfigError` whose lines each name one key and what is wrong with it;
the command line prints them and exits with status 2, never with a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import tomli  # the parser tomllib was taken from, as a compiled wheel: ~3x faster on big configs
from pydantic import BaseModel, ValidationError

from watcher.config import cache
from watcher.config.model import Settings
from watcher.config.rules import Rules
from watcher.config.sources import Source, resolve_source
from watcher.errors import WatcherError

DEFAULT_PATH = Path("config/watcher.toml")
ENV_PREFIX = "WATCHER_"
OVERRIDABLE_SECTIONS = ("service", "checks", "mail", "retention", "review")
# Secrets never live in a file that may be committed or mounted world-readable.
SECRET_KEYS = {("mail", "password")}


class ConfigError(WatcherError):
    """The configuration cannot be used; `problems` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Channel:
    """Where a channel's messages go. Its URL and secret come from the environment only
    and are never shown: the repr names the channel alone."""

    name: str
    kind: str  # "webhook" or "apprise" (notify/channels/)
    url: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Config:
    settings: Settings
    sources: tuple[Source, ...]
    path: Path | None
    channels: Mapping[str, Channel] = field(default_factory=dict)
    # The sources added on the desk (`loading.with_desk`), and those of them paused.
    desk: frozenset[str] = frozenset()
    paused: frozenset[str] = frozenset()

    @property
    def directory(self) -> Path | None:
        return self.path.parent if self.path else None

    def origin(self, source_id: str) -> str:
        """Who owns a source's settings: "desk" (the database) or "config" (the file)."""
        return "desk" if source_id in self.desk else "config"

    @property
    def file_name(self) -> str:
        """The configuration file, as a refusal to edit one of its sources names it."""
        return str(self.path) if self.path else "the configuration file"

    def source(self, source_id: str) -> Source | None:
        return self._by_id.get(source_id)

    @cached_property
    def _by_id(self) -> dict[str, Source]:
        return {source.id: source for source in self.sources}

    def country_name(self, code: str) -> str:
        for country in self.settings.countries:
            if country.code == code:
                return country.name
        return code

    def key_terms(self, code: str) -> tuple[str, ...]:
        """The words that make a change of this country notable: everywhere's and its own."""
        terms = list(self.settings.significance.key_terms)
        for country in self.settings.countries:
            if country.code == code:
                terms += country.key_terms
        return tuple(dict.fromkeys(term.strip() for term in terms if term.strip()))

    def reviewed(self, code: str) -> bool:
        """Does an editor read this country's changes before its readers are told?"""
        for country in self.settings.countries:
            if country.code == code and country.review is not None:
                return country.review
        return self.settings.review.all


def config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path:
    if explicit:
        return Path(explicit)
    if environ.get("WATCHER_CONFIG"):
        return Path(environ["WATCHER_CONFIG"])
    return DEFAULT_PATH


def load_config(
    explicit: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    rules: Rules,
) -> Config:
    """The configuration named by `--config`, else `$WATCHER_CONFIG`, else `config/watcher.toml`,
    checked by `rules` as well as by its own (`watcher.loading.load_config` gives them)."""
    environ = os.environ if environ is None else environ
    path = config_path(explicit, environ)
    raw = _read(path)
    cached = cache.load(raw, environ, rules)
    if cached is not None:  # this file, read by this watcher with these rules before
        environ = with_secrets(cached.data, environ, path)
        settings = _settings(cached.data, environ, str(path))
        # its sources resolved with these settings (countries and subscribers checked then)
        if cached.fits(settings):
            return _config(settings, cached.sources(), path, environ, rules)
    data = _parse(raw, path)
    config = build_config(data, environ, path, rules=rules)
    cache.save(raw, environ, rules, _without_sources(data), config.settings, config.sources)
    return config


def _read(path: Path) -> bytes:
    where = str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{where}: no such file (give --config PATH or set WATCHER_CONFIG)"]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{where}: is a directory, not a configuration file"]) from None
    except PermissionError:
        raise ConfigError([f"{where}: cannot be read (permission denied)"]) from None
    except OSError as exc:
        raise ConfigError([f"{where}: cannot be read ({exc.strerror})"]) from None


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{where}: is not UTF-8 text (byte {exc.start})"]) from None
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: {_toml_message(exc)}"]) from None


def _toml_message(exc: tomli.TOMLDecodeError) -> str:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if found:
        reason = message[: found.start()].strip()
        return f"line {found[1]}, column {found[2]}: TOML syntax error: {reason}"
    return f"TOML syntax error: {message}"


def build_config(
    data: dict[str, Any], environ: Mapping[str, str], path: Path | None, *, rules: Rules
) -> Config:
    """Validate `data` (a parsed file) with `environ`'s overrides (and those of the secrets
    file it names), and `rules`; `data` is left as it was."""
    where = str(path) if path else "configuration"
    environ = with_secrets(data, environ, path)
    settings = _settings(data, environ, where)
    problems = _check_references(settings)
    sources, source_problems = _resolve_sources(settings, rules)
    problems += source_problems
    if problems:
        raise ConfigError([f"{where}: {line}" for line in problems])
    return _config(settings, sources, path, environ, rules)


def with_secrets(
    data: dict[str, Any], environ: Mapping[str, str], path: Path | None
) -> Mapping[str, str]:
    """The environment, with what `[service] secrets` (a file of `WATCHER_...=value` lines,
    relative to the configuration's folder) adds; the environment wins. It holds channel
    URLs, passwords, tokens: a file of ours that others may read is refused, as is one that
    others may write (a secret mounted read-only by a container runtime, owned by root, is
    fine)."""
    service = data.get("service")
    name = service.get("secrets") if isinstance(service, dict) else None
    if not isinstance(name, str) or not name:
        return environ
    where = path.parent if path else Path()
    file = where / name
    key = f"{path or 'configuration'}: service.secrets"
    try:
        status = file.stat()
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{key}: {file} cannot be read ({exc.strerror})"]) from None
    ours = status.st_uid == os.getuid()
    if status.st_mode & 0o022 or (ours and status.st_mode & 0o044):
        raise ConfigError([f"{key}: {file} can be read or written by others; chmod 600 it"])
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        variable, equals, value = line.partition("=")
        variable = variable.strip()
        if not equals or not variable.startswith(ENV_PREFIX):
            raise ConfigError([f"{key}: {file}, line {number}: write WATCHER_NAME=value"])
        found[variable] = value.strip()
    return {**found, **environ}


def _settings(data: dict[str, Any], environ: Mapping[str, str], where: str) -> Settings:
    data = dict(data)  # the environment's overrides replace whole sections of this copy
    problems = [f"{where}: {line}" for line in _secrets_in_file(data)]
    overridden = _apply_environment(data, environ, problems)
    if problems:
        raise ConfigError(problems)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, data, overridden, where)) from None
    return settings


def _config(
    settings: Settings,
    sources: tuple[Source, ...],
    path: Path | None,
    environ: Mapping[str, str],
    rules: Rules,
) -> Config:
    """The configuration; its settings keep the countries without their sources' models:
    the resolved `Source`s are what the program works with (~0.6 KB a source saved)."""
    channels = _channels(settings, environ, str(path) if path else "configuration", rules)
    countries = [country.model_copy(update={"sources": []}) for country in settings.countries]
    settings = settings.model_copy(update={"countries": countries})
    return Config(settings=settings, sources=sources, path=path, channels=channels)


def channel_variable(name: str) -> str:
    return f"{ENV_PREFIX}CHANNEL_{name.upper().replace('-', '_')}"


def _channels(
    settings: Settings, environ: Mapping[str, str], file: str, rules: Rules
) -> dict[str, Channel]:
    """The channels subscribers name, each with its URL (and a webhook's signing secret),
    read from `WATCHER_CHANNEL_<NAME>` and `WATCHER_CHANNEL_<NAME>_SECRET`: a channel URL
    carries secrets, so it never lives in the file. Which kind each is, and what its URL and
    secret must be, the rules say (`notify/channels/`)."""
    channels: dict[str, Channel] = {}
    problems: list[str] = []
    for index, subscriber in enumerate(settings.subscribers):
        name = subscriber.channel
        if name is None or name in channels:
            continue
        variable = channel_variable(name)
        url = environ.get(variable, "").strip()
        secret = environ.get(f"{variable}_SECRET", "").strip()
        where = f"{file}: subscribers[{index}].channel"
        if not url:
            problems.append(f"{where}: set {variable} to the URL of channel {name!r}")
            continue
        if problem := rules.channel_problem(url):
            problems.append(f"{variable}: {problem}")
            continue
        kind = rules.channel_kind(url)
        needed = rules.channel_secret(kind)
        if len(secret) < needed:
            problems.append(
                f"{where}: set {variable}_SECRET to the secret its {kind}'s messages are"
                f" signed with ({needed} characters or more)"
            )
        channels[name] = Channel(name, kind, url, secret)
    if problems:
        raise ConfigError(problems)
    return channels


def _without_sources(data: dict[str, Any]) -> dict[str, Any]:
    countries = [
        {name: value for name, value in country.items() if name != "sources"}
        for country in data.get("countries", [])
    ]
    return {**data, "countries": countries} if "countries" in data else data


def _secrets_in_file(data: dict[str, Any]) -> list[str]:
    problems = []
    for section, key in sorted(SECRET_KEYS):
        if isinstance(data.get(section), dict) and key in data[section]:
            variable = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            problems.append(
                f"{section}.{key}: secrets are read only from the environment; set {variable}"
            )
    return problems


def _apply_environment(
    data: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> dict[tuple[str, str], str]:
    """Merge `WATCHER_<SECTION>__<KEY>=value` into the data; return which keys came from where."""
    overridden: dict[tuple[str, str], str] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        section, _, key = variable[len(ENV_PREFIX) :].lower().partition("__")
        if section not in OVERRIDABLE_SECTIONS:
            problems.append(
                f"{variable}: only [{'], ['.join(OVERRIDABLE_SECTIONS)}] keys can be set"
                " from the environment"
            )
            continue
        target = data.get(section, {})
        if not isinstance(target, dict):
            problems.append(f"{section}: must be a table, e.g. [{section}]")
            continue
        data[section] = {**target, key: _parse_env_value(environ[variable])}
        overridden[(section, key)] = variable
    return overridden


def _parse_env_value(raw: str) -> Any:
    """`4` -> 4, `true` -> True, `["a", "b"]` -> a list; anything else stays a string."""
    try:
        return tomli.loads(f"value = {raw}")["value"]
    except tomli.TOMLDecodeError:
        return raw


def _explain(
    exc: ValidationError, data: dict[str, Any], overridden: dict[tuple[str, str], str], where: str
) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = _dotted(loc)
        origin = overridden.get(loc[:2]) if len(loc) >= 2 else None  # type: ignore[arg-type]
        label = f"{origin} ({key})" if origin else f"{where}: {key}" if key else where
        lines.append(f"{label}: {_describe(error, loc)}")
    return lines


def explain_fields(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem of `model`'s fields given alone (a source from a form): the
    field's key and what is wrong, as the file's lines say it."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        lines.append(f"{_dotted(loc) or model.__name__}: {_describe(error, loc, model)}")
    return lines


def _describe(error: Any, loc: tuple[Any, ...], root: type[BaseModel] = Settings) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(loc, root)
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind in {"string_type", "int_type", "int_parsing", "list_type", "dict_type", "bool_type"}:
        return f"{message[0].lower()}{message[1:]} (got {error['input']!r})"
    return f"{message[0].lower()}{message[1:]}"


def _suggest(loc: tuple[Any, ...], root: type[BaseModel] = Settings) -> str:
    """Name the closest known key, walking the models along the path of the unknown one."""
    model: type[BaseModel] = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_of(field.annotation) if field else None
        if inner is None:
            return ""
        model = inner
    names = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(names)})"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_of(argument)
        if found:
            return found
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif str(part).startswith(("function-", "constrained-")):
            continue
        else:
            key += f".{part}" if key else str(part)
    return key


def _check_references(settings: Settings) -> list[str]:
    problems = []
    codes: dict[str, int] = {}
    for index, country in enumerate(settings.countries):
        if country.code in codes:
            problems.append(
                f"countries[{index}].code: {country.code!r} is already used by"
                f" countries[{codes[country.code]}]"
            )
        codes.setdefault(country.code, index)
    for index, subscriber in enumerate(settings.subscribers):
        for code in subscriber.countries:
            if code != "*" and code not in codes:
                known = ", ".join(codes) or "none are configured"
                key = f"subscribers[{index}].countries"
                problems.append(f"{key}: unknown country code {code!r} (known: {known})")
        for code, _ in subscriber.section_pairs:
            if code != "*" and code not in codes:
                known = ", ".join(codes) or "none are configured"
                key = f"subscribers[{index}].sections"
                problems.append(f"{key}: unknown country code {code!r} (known: {known})")
    return problems


def _resolve_sources(settings: Settings, rules: Rules) -> tuple[tuple[Source, ...], list[str]]:
    sources: list[Source] = []
    problems: list[str] = []
    where: dict[str, str] = {}
    for c_index, country in enumerate(settings.countries):
        for s_index, config in enumerate(country.sources):
            place = f"countries[{c_index}].sources[{s_index}]"
            found = rules.source_problems(config)
            if found:
                problems += [
                    f"{place}.{key}: {what}" if key else f"{place}: {what}" for key, what in found
                ]
                continue
            source = resolve_source(settings, country, config, rules.source_kind(config))
            key = f"{place}.id"
            if source.id in where:
                problems.append(
                    f"{key}: duplicate source id {source.id!r} (also {where[source.id]})"
                )
                continue
            where[source.id] = key
            sources.append(source)
            keep = settings.service.keep_snapshots
            if source.compared_versions > keep:
                problems.append(
                    f"countries[{c_index}].sources[{s_index}].compared_versions:"
                    f" {source.compared_versions} versions cannot be compared when only"
                    f" {keep} are kept (service.keep_snapshots)"
                )
    return tuple(sources), problems
