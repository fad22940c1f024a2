"""Snapshots (the stored documents) and changes (the log of what changed, and how)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff.change import Change, change_from_json
from watcher.diff.significance import Significance, significance
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
    review: str | None = None  # None, or "waiting", "approved", "discarded" (review/)
    review_note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    significance: float = 0.0  # how much it matters, 0 to 1 (diff/significance.py)
    reasons: tuple[str, ...] = ()
    snapshot_id: int | None = None  # the version it found
    # A digest's net change (notify/net.py): the changes it stands for, and the first's time.
    merged: tuple[int, ...] = ()
    since: datetime | None = None


async def latest_snapshot(connection: AsyncConnection, source_id: str) -> Document | None:
    """The newest version of the source to compare with: the newest snapshot that is not a
    discarded page change's (readers are never told of that version of the page, so its
    next change is told from the one before it). A feed's discarded entries stay behind:
    they are never news again (`notify/review.py`)."""
    discarded = select(changes.c.snapshot_id).where(
        changes.c.source_id == source_id,
        changes.c.review == "discarded",
        changes.c.kind == "page",
        changes.c.snapshot_id.is_not(None),
    )
    row = (
        await connection.execute(
            select(snapshots.c.document)
            .where(snapshots.c.source_id == source_id, snapshots.c.id.not_in(discarded))
            .order_by(snapshots.c.id.desc())
            .limit(1)
        )
    ).first()
    return document_from_json(row.document) if row else None


async def snapshot_document(connection: AsyncConnection, snapshot_id: int) -> Document | None:
    row = (
        await connection.execute(select(snapshots.c.document).where(snapshots.c.id == snapshot_id))
    ).first()
    return document_from_json(row.document) if row else None


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a source (a snapshot), with its document."""

    id: int
    taken_at: datetime
    document: Document


async def versions(connection: AsyncConnection, source_id: str) -> list[Version]:
    """A source's stored versions, newest first (`service.keep_snapshots` of them at most)."""
    rows = await connection.execute(
        select(snapshots.c.id, snapshots.c.taken_at, snapshots.c.document)
        .where(snapshots.c.source_id == source_id)
        .order_by(snapshots.c.id.desc())
    )
    return [Version(row.id, row.taken_at, document_from_json(row.document)) for row in rows]


async def recent_content_hashes(
    connection: AsyncConnection, source_id: str, count: int
) -> set[str]:
    """The content hashes of the source's newest `count` snapshots (off its index)."""
    rows = await connection.execute(
        select(snapshots.c.content_hash)
        .where(snapshots.c.source_id == source_id)
        .order_by(snapshots.c.id.desc())
        .limit(count)
    )
    return {row.content_hash for row in rows}


async def add_snapshots(
    connection: AsyncConnection,
    taken: Sequence[tuple[str, Document]],
    now: datetime,
    keep: int,
) -> list[int]:
    """Store (source id, document) pairs and forget all but the newest `keep` snapshots of
    each of those sources; the new snapshots' ids, in order.

    Two statements for the lot: one at a time, a baseline pass over 2,000 pages spent about
    a second of its CPU on the database layer's per-statement cost.
    """
    rows = [
        {
            "source_id": source_id,
            "taken_at": now,
            "content_hash": document.content_hash(),
            "document": document.packed(),  # as the extraction worker packed it
        }
        for source_id, document in taken
    ]
    inserted = await connection.execute(
        insert(snapshots).returning(snapshots.c.id, sort_by_parameter_order=True), rows
    )
    ids = [int(row.id) for row in inserted]
    newer = snapshots.alias("newer")
    oldest_kept = (
        select(newer.c.id)
        .where(newer.c.source_id == snapshots.c.source_id)
        .order_by(newer.c.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    await connection.execute(
        delete(snapshots).where(
            snapshots.c.source_id.in_([source_id for source_id, _ in taken]),
            snapshots.c.id < oldest_kept,
        )
    )
    return ids


@dataclass(frozen=True, slots=True)
class NewChange:
    source_id: str
    country: str
    change: Change
    snapshot_id: int
    held: bool = False  # its country is reviewed: it waits for an editor
    scored: Significance | None = None  # how much it matters; scored without key terms if None


async def add_changes(
    connection: AsyncConnection, new: Sequence[NewChange], now: datetime
) -> list[int]:
    """Record changes in the log, each with its summary and significance; their ids, in
    order."""
    rows = [
        {
            "source_id": item.source_id,
            "country": item.country,
            "detected_at": now,
            "snapshot_id": item.snapshot_id,
            **told(item.change, item.scored or significance(item.change)),
        }
        for item in new
    ]
    if any(item.held for item in new):  # the column is only named when used
        for row, item in zip(rows, new, strict=True):
            row["review"] = "waiting" if item.held else None
    inserted = await connection.execute(
        insert(changes).returning(changes.c.id, sort_by_parameter_order=True), rows
    )
    return [int(row.id) for row in inserted]


def told(change: Change, scored: Significance) -> dict[str, Any]:
    """The columns that say what a change tells: its kind, summary, lines and significance."""
    return {
        "kind": change.kind,
        "summary": change.summary(),
        "data": change.to_json(),
        "significance": scored.score,
        "reasons": json.dumps(list(scored.reasons)),
    }


def change_record(row: Any) -> ChangeRecord:
    change = change_from_json(row.data)
    if row.significance is None:  # recorded while the log was being upgraded (0019)
        scored = significance(change)
        score, reasons = scored.score, scored.reasons
    else:
        score, reasons = row.significance, tuple(json.loads(row.reasons or "[]"))
    return ChangeRecord(
        id=row.id,
        source_id=row.source_id,
        country=row.country,
        detected_at=row.detected_at,
        kind=row.kind,
        summary=row.summary,
        change=change,
        source_name=row.name,
        source_url=row.url,
        review=row.review,
        review_note=row.review_note,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        significance=score,
        reasons=reasons,
        snapshot_id=row.snapshot_id,
    )


CHANGE_COLUMNS = (*changes.c, sources.c.name, sources.c.url)
PUBLISHED = or_(changes.c.review.is_(None), changes.c.review == "approved")


async def get_change(connection: AsyncConnection, change_id: int) -> ChangeRecord | None:
    row = (
        await connection.execute(
            select(*CHANGE_COLUMNS).join(sources).where(changes.c.id == change_id)
        )
    ).first()
    return change_record(row) if row else None


async def get_changes(connection: AsyncConnection, ids: list[int]) -> list[ChangeRecord]:
    if not ids:
        return []
    query = (
        select(*CHANGE_COLUMNS).join(sources).where(changes.c.id.in_(ids)).order_by(changes.c.id)
    )
    return [change_record(row) for row in (await connection.execute(query)).all()]


async def list_changes(
    connection: AsyncConnection,
    *,
    country: str | None = None,
    source_id: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
    published: bool = False,
    min_significance: float | None = None,
) -> list[ChangeRecord]:
    """Newest first; `before_id` pages backwards through the log. `published`: only what
    readers may see (not a change waiting for an editor, nor one discarded).
    `min_significance`: only the changes scoring that or more."""
    query = changes_listing(
        country=country, source_id=source_id, since=since, before_id=before_id, limit=limit
    )
    if min_significance is not None:
        query = query.where(changes.c.significance >= min_significance)
    if published:
        query = query.where(PUBLISHED)
    return [change_record(row) for row in (await connection.execute(query)).all()]


def changes_listing(
    *,
    country: str | None = None,
    source_id: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Select[Any]:
    query = select(*CHANGE_COLUMNS).join(sources).order_by(changes.c.id.desc()).limit(limit)
    if country:
        query = query.where(changes.c.country == country)
    if source_id:
        query = query.where(changes.c.source_id == source_id)
    if since:
        # Every change since then has this id or a higher one: the newest-first scan stops
        # there instead of reading the whole log when fewer than `limit` are that recent
        # (an API client asking every minute what is new). `+ 0` makes SQLite read the ids
        # off the detected_at index instead of walking the log from its oldest row.
        first = select(func.min(changes.c.id + 0)).where(changes.c.detected_at >= since)
        query = query.where(changes.c.detected_at >= since, changes.c.id >= first.scalar_subquery())
    if before_id:
        query = query.where(changes.c.id < before_id)
    return query


async def count_changes(connection: AsyncConnection, *, country: str | None = None) -> int:
    query = select(func.count()).select_from(changes)
    if country:
        query = query.where(changes.c.country == country)
    return int((await connection.execute(query)).scalar_one())
