"""The operator's sources on the desk: add, edit, pause, resume, remove and recheck, the same
from the web pages, the API and the command line.

A desk source's settings live in the database (`store/desk.py`), checked by the rules the
configuration file's sources are (`loading.source_from`); the file's sources stay the file's
and are refused here with its name. Each change is one transaction that writes the desk's
row, the source's row in the schedule and the audit line, and tells the other workers
(`notify_due`); this worker's configuration is brought up to date at once
(`app.refresh_desk`), the others' before their next batch.
"""

from __future__ import annotations

from typing import Any

from watcher.app import App, refresh_desk
from watcher.config import ConfigError, Source
from watcher.config.model import CountryConfig
from watcher.desk.errors import NoSuchSource, OwnedByFile, SourceExists
from watcher.loading import source_from
from watcher.store import read_transaction, write_transaction
from watcher.store.db import notify_due
from watcher.store.desk import DeskSource, add_desk_source, edit_desk_source, load_desk_source
from watcher.store.editors import record
from watcher.store.sources import make_due, put_source

# What the desk may set: the keys of `[[countries.sources]]`, but `allow_private` (which
# lets a redirect lead into private address space) stays the file's alone.
SETTINGS = (
    "url",
    "name",
    "kind",
    "fetch",
    "select",
    "exclude",
    "ignore",
    "match",
    "key",
    "documents",
    "max_documents",
    "content",
    "updated_pattern",
    "interval",
    "cron",
    "compared_versions",
    "recheck_after",
    "timeout",
    "extract_timeout",
    "max_bytes",
    "headers",
)


def _settings(fields: dict[str, Any]) -> dict[str, Any]:
    """The settings given, empty ones left out, refusing what the desk may not set."""
    unknown = sorted(set(fields) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            [f"{key}: not a setting a desk source takes" for key in unknown]  # allow_private...
        )
    return {key: value for key, value in fields.items() if value not in (None, "", [], {})}


def _country(app: App, code: str | None, name: str | None) -> tuple[str, str | None]:
    """The country code, and its name when it is new; a `ConfigError` naming `country`."""
    code = (code or "").strip()
    try:
        code = CountryConfig(code=code, name=name or code).code
    except ValueError:
        raise ConfigError([f"country: {code!r} is not a country code (e.g. 'VN')"]) from None
    if any(country.code == code for country in app.settings.countries):
        return code, None
    if not (name and name.strip()):
        raise ConfigError(
            [f"country_name: {code} is a new country: give its name (e.g. 'Viet Nam')"]
        )
    return code, name.strip()


def _checked(
    app: App,
    settings: dict[str, Any],
    source_id: str | None,
    country: str,
    country_name: str | None,
) -> Source:
    fields = {**settings, **({"id": source_id} if source_id else {})}
    return source_from(fields, app.file_config or app.config, country, country_name)


async def add_source(
    app: App,
    fields: dict[str, Any],
    *,
    country: str | None,
    country_name: str | None = None,
    source_id: str | None = None,
    by: str,
) -> Source:
    """A new desk source, due at once. `fields` as `[[countries.sources]]` writes them.
    Raises `ConfigError` (each line naming its field) or `SourceExists`."""
    code, new_name = _country(app, country, country_name)
    settings = _settings(fields)
    source = _checked(app, settings, source_id, code, new_name)
    if app.config.source(source.id) is not None:
        owner = "the desk" if app.config.origin(source.id) == "desk" else app.config.file_name
        raise SourceExists(f"id: a source {source.id} exists already (in {owner})")
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        found = await load_desk_source(connection, source.id, lock=True)
        if found is not None and found.removed_at is None:
            raise SourceExists(f"id: a source {source.id} exists already (on the desk)")
        await add_desk_source(
            connection,
            source_id=source.id,
            country=code,
            country_name=new_name,
            settings=settings,
            now=now,
            by=by,
        )
        await put_source(connection, source, now, active=True, due=True)
        await record(connection, now, by, "source added", detail=source.id)
        await notify_due(connection)
    await refresh_desk(app)
    return source


async def edit_source(app: App, source_id: str, changes: dict[str, Any], *, by: str) -> Source:
    """Change a desk source: any settings (None or empty puts a setting back to its
    default), `country` with `country_name` for a new one, `paused`. Changed settings are
    checked at once (a new `select` takes a fresh baseline, as in the file)."""
    changes = dict(changes)
    paused = changes.pop("paused", None)
    wanted_country = changes.pop("country", None)
    wanted_name = changes.pop("country_name", None)
    entry = await _desk_entry(app, source_id)
    code, new_name = entry.country, entry.country_name
    if wanted_country is not None or wanted_name is not None:
        code, new_name = _country(app, wanted_country or entry.country, wanted_name)
    settings = _settings({**entry.settings, **changes})
    for key, value in changes.items():  # None: back to the default
        if value in (None, "", [], {}):
            settings.pop(key, None)
    source = _checked(app, settings, source_id, code, new_name)
    is_paused = entry.paused if paused is None else bool(paused)
    edited = settings != entry.settings or (code, new_name) != (entry.country, entry.country_name)
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        await edit_desk_source(
            connection,
            source_id,
            now=now,
            by=by,
            settings=settings,
            country=code,
            country_name=new_name,
            paused=is_paused,
        )
        await put_source(connection, source, now, active=not is_paused, due=edited)
        if edited:
            await record(connection, now, by, "source edited", detail=source_id)
        if is_paused != entry.paused:
            action = "source paused" if is_paused else "source resumed"
            await record(connection, now, by, action, detail=source_id)
        await notify_due(connection)
    await refresh_desk(app)
    return source


async def remove_source(app: App, source_id: str, *, by: str) -> None:
    """The desk source is no longer checked; its changes and snapshots stay readable."""
    entry = await _desk_entry(app, source_id)
    source = app.config.source(source_id)
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        await edit_desk_source(connection, entry.id, now=now, by=by, removed_at=now)
        if source is not None:
            await put_source(connection, source, now, active=False, due=False)
        await record(connection, now, by, "source removed", detail=source_id)
        await notify_due(connection)
    await refresh_desk(app)


async def _desk_entry(app: App, source_id: str) -> DeskSource:
    """The desk's own source of that id, or why not: `OwnedByFile`, `NoSuchSource`."""
    if app.config.source(source_id) is not None and app.config.origin(source_id) == "config":
        raise OwnedByFile(f"{source_id} is set in {app.config.file_name}: edit it there and reload")
    async with read_transaction(app.engine) as connection:
        entry = await load_desk_source(connection, source_id)
    if entry is None or entry.removed_at is not None:
        raise NoSuchSource(f"no source {source_id} on the desk")
    return entry


async def recheck(
    app: App, *, source_id: str | None = None, country: str | None = None, by: str
) -> int:
    """Recheck now: one source, a country's, or every one, due at once; how many. The
    workers are told (`notify_due`); the caller wakes its own scheduler."""
    if source_id is not None and app.config.source(source_id) is None:
        raise NoSuchSource(f"no source {source_id}")
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        count = await make_due(
            connection, now, ids=None if source_id is None else [source_id], country=country
        )
        what = source_id or (f"country {country}" if country else "every source")
        await record(connection, now, by, "recheck asked", detail=what)
        await notify_due(connection)
    return count
