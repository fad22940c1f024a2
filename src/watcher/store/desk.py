"""The sources added on the desk: their settings, paused or removed, and the revision that
tells a worker its copy is stale.

A desk source's settings are stored as `[[countries.sources]]` writes them (`url`, `kind`,
`select`, ...), without its id and country, which are columns; `loading.with_desk` checks
them by the file's rules and adds them to the configuration. Its check state lives in
`sources` as every source's does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.store.db import lock_rows
from watcher.store.schema import desk_sources


@dataclass(frozen=True, slots=True)
class DeskSource:
    id: str
    country: str
    country_name: str | None  # for a country the file does not have
    settings: dict[str, Any]
    paused: bool
    removed_at: datetime | None
    created_at: datetime
    edited_at: datetime
    edited_by: str | None
    found_on: str | None = None  # a linked document: the page source whose link it is

    @property
    def fields(self) -> dict[str, Any]:
        """The settings with the id, as `loading.source_from` takes them."""
        return {**self.settings, "id": self.id}


def _desk_source(row: Any) -> DeskSource:
    return DeskSource(
        id=row.id,
        country=row.country,
        country_name=row.country_name,
        settings=json.loads(row.settings),
        paused=row.paused,
        removed_at=row.removed_at,
        created_at=row.created_at,
        edited_at=row.edited_at,
        edited_by=row.edited_by,
        found_on=row.found_on,
    )


async def desk_revision(connection: AsyncConnection) -> tuple[int, int]:
    """Where the desk's sources stand: their number and the sum of their revisions. Any
    addition, edit, pause or removal changes it. One aggregate over a small table."""
    query = select(func.count(), func.coalesce(func.sum(desk_sources.c.revision), 0))
    count, total = (await connection.execute(query)).one()
    return int(count), int(total)


async def load_desk_sources(
    connection: AsyncConnection, *, removed: bool = False
) -> list[DeskSource]:
    """The desk's sources, by id; with `removed`, the removed ones too."""
    query = select(desk_sources).order_by(desk_sources.c.id)
    if not removed:
        query = query.where(desk_sources.c.removed_at.is_(None))
    return [_desk_source(row) for row in (await connection.execute(query)).all()]


async def load_desk_source(
    connection: AsyncConnection, source_id: str, *, lock: bool = False
) -> DeskSource | None:
    """One desk source, removed or not; with `lock`, held for this write transaction."""
    query = select(desk_sources).where(desk_sources.c.id == source_id)
    row = (await connection.execute(lock_rows(connection, query) if lock else query)).first()
    return _desk_source(row) if row else None


async def followed_documents(connection: AsyncConnection, page_id: str) -> dict[str, DeskSource]:
    """The desk sources that follow the documents a page links to, by URL (not the removed)."""
    query = select(desk_sources).where(
        desk_sources.c.found_on == page_id, desk_sources.c.removed_at.is_(None)
    )
    entries = [_desk_source(row) for row in (await connection.execute(query)).all()]
    return {entry.settings["url"]: entry for entry in entries}


async def add_desk_source(
    connection: AsyncConnection,
    *,
    source_id: str,
    country: str,
    country_name: str | None,
    settings: dict[str, Any],
    now: datetime,
    by: str | None,
    found_on: str | None = None,
) -> None:
    """A new desk source (a removed one of that id comes back with these settings); a
    linked document `found_on` a page source."""
    values = {
        "found_on": found_on,
        "country": country,
        "country_name": country_name,
        "settings": json.dumps(settings, sort_keys=True),
        "paused": False,
        "removed_at": None,
        "edited_at": now,
        "edited_by": by,
    }
    if await load_desk_source(connection, source_id, lock=True) is None:
        await connection.execute(
            insert(desk_sources).values(id=source_id, created_at=now, revision=1, **values)
        )
    else:
        await _edit(connection, source_id, values)


async def edit_desk_source(
    connection: AsyncConnection, source_id: str, *, now: datetime, by: str | None, **values: Any
) -> None:
    """Change a desk source's `settings`, `country`, `country_name`, `paused` or
    `removed_at`."""
    if "settings" in values:
        values["settings"] = json.dumps(values["settings"], sort_keys=True)
    await _edit(connection, source_id, {**values, "edited_at": now, "edited_by": by})


async def _edit(connection: AsyncConnection, source_id: str, values: dict[str, Any]) -> None:
    await connection.execute(
        update(desk_sources)
        .where(desk_sources.c.id == source_id)
        .values(revision=desk_sources.c.revision + 1, **values)
    )
