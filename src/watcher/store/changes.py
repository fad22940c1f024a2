"""Snapshots (the stored documents) and changes (the log of what changed, and how)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff.change import Change, change_from_json
from watcher.extract.document import Document, document_from_json
from watcher.store.schema import changes, snapshots, sources


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    id: int
    source_id: str
    country: str
    detected_at: datetime
    kind: str
    summary: str
    change: Change
    source_name: str
    source_url: str


async def latest_snapshot(connection: AsyncConnection, source_id: str) -> Document | None:
    row = (
        await connection.execute(
            select(snapshots.c.document)
            .where(snapshots.c.source_id == source_id)
            .order_by(snapshots.c.id.desc())
            .limit(1)
        )
    ).first()
    return document_from_json(row.document) if row else None


async def add_snapshot(
    connection: AsyncConnection, source_id: str, document: Document, now: datetime, keep: int
) -> int:
    """Store a document and forget all but the newest `keep` snapshots of its source."""
    result = await connection.execute(
        insert(snapshots).values(
            source_id=source_id,
            taken_at=now,
            content_hash=document.content_hash(),
            document=document.to_json(),
        )
    )
    snapshot_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    oldest_kept = (
        select(snapshots.c.id)
        .where(snapshots.c.source_id == source_id)
        .order_by(snapshots.c.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    await connection.execute(
        delete(snapshots).where(snapshots.c.source_id == source_id, snapshots.c.id < oldest_kept)
    )
    return snapshot_id


async def add_change(
    connection: AsyncConnection,
    *,
    source_id: str,
    country: str,
    change: Change,
    snapshot_id: int,
    now: datetime,
) -> int:
    result = await connection.execute(
        insert(changes).values(
            source_id=source_id,
            country=country,
            detected_at=now,
            kind=change.kind,
            summary=change.summary(),
            data=change.to_json(),
            snapshot_id=snapshot_id,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _record(row: Any) -> ChangeRecord:
    return ChangeRecord(
        id=row.id,
        source_id=row.source_id,
        country=row.country,
        detected_at=row.detected_at,
        kind=row.kind,
        summary=row.summary,
        change=change_from_json(row.data),
        source_name=row.name,
        source_url=row.url,
    )


_COLUMNS = (*changes.c, sources.c.name, sources.c.url)


async def get_change(connection: AsyncConnection, change_id: int) -> ChangeRecord | None:
    row = (
        await connection.execute(select(*_COLUMNS).join(sources).where(changes.c.id == change_id))
    ).first()
    return _record(row) if row else None


async def get_changes(connection: AsyncConnection, ids: list[int]) -> list[ChangeRecord]:
    if not ids:
        return []
    query = select(*_COLUMNS).join(sources).where(changes.c.id.in_(ids)).order_by(changes.c.id)
    return [_record(row) for row in (await connection.execute(query)).all()]


async def list_changes(
    connection: AsyncConnection,
    *,
    country: str | None = None,
    source_id: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[ChangeRecord]:
    """Newest first; `before_id` pages backwards through the log."""
    query = select(*_COLUMNS).join(sources).order_by(changes.c.id.desc()).limit(limit)
    if country:
        query = query.where(changes.c.country == country)
    if source_id:
        query = query.where(changes.c.source_id == source_id)
    if since:
        query = query.where(changes.c.detected_at >= since)
    if before_id:
        query = query.where(changes.c.id < before_id)
    return [_record(row) for row in (await connection.execute(query)).all()]


async def count_changes(connection: AsyncConnection, *, country: str | None = None) -> int:
    query = select(func.count()).select_from(changes)
    if country:
        query = query.where(changes.c.country == country)
    return int((await connection.execute(query)).scalar_one())
