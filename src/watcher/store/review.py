"""The review queue: changes of reviewed countries wait for an editor before readers hear.

A change of a reviewed country is recorded as "waiting" and its notifications as "held"
(`store/news.py`): no drain composes them. Approving releases them, dated at the approval,
so an immediate reader is told after `mail.settle` and a digest carries it in the period it
was approved in; the editor's note goes atop the email. Discarding drops them: nobody is
ever told. Either is one transaction with its line in the audit log, and acts only on a
change that is still waiting (two editors at once: the second is told it is done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff import Change
from watcher.diff.significance import significance
from watcher.store.changes import CHANGE_COLUMNS, ChangeRecord, change_record, told
from watcher.store.editors import record
from watcher.store.schema import changes, notifications, snapshots, sources, subscribers

WAITING = "waiting"
APPROVED = "approved"
DISCARDED = "discarded"


async def waiting(
    connection: AsyncConnection, *, country: str | None = None, limit: int = 200
) -> list[ChangeRecord]:
    """Changes waiting for an editor, what matters most first (by significance), then the
    oldest first."""
    query = (
        select(*CHANGE_COLUMNS)
        .join(sources)
        .where(changes.c.review == WAITING)
        .order_by(func.coalesce(changes.c.significance, 0.0).desc(), changes.c.id)
        .limit(limit)
    )
    if country:
        query = query.where(changes.c.country == country)
    return [change_record(row) for row in (await connection.execute(query)).all()]


async def held_readers(connection: AsyncConnection, change_ids: list[int]) -> dict[int, int]:
    """How many readers each change will reach when approved (never who): one query."""
    query = (
        select(notifications.c.change_id, func.count())
        .where(notifications.c.change_id.in_(change_ids), notifications.c.status == "held")
        .group_by(notifications.c.change_id)
    )
    rows = (await connection.execute(query)).all() if change_ids else []
    counts = {row[0]: row[1] for row in rows}
    return {change_id: int(counts.get(change_id, 0)) for change_id in change_ids}


async def readers_of(connection: AsyncConnection, change_id: int) -> int:
    """How many readers a decided change concerned: told (approved), or never to be
    (discarded)."""
    query = select(func.count()).where(notifications.c.change_id == change_id)
    return int((await connection.execute(query)).scalar() or 0)


async def held_addresses(connection: AsyncConnection, change_id: int) -> list[str]:
    """Who will be told when the change is approved: for editors the operator lets see it."""
    query = (
        select(subscribers.c.email)
        .join(notifications, notifications.c.subscriber_id == subscribers.c.id)
        .where(notifications.c.change_id == change_id, notifications.c.status == "held")
        .order_by(subscribers.c.email_key)
    )
    return list((await connection.execute(query)).scalars())


async def decide(
    connection: AsyncConnection,
    change_id: int,
    *,
    approve: bool,
    editor: str,
    note: str | None,
    now: datetime,
) -> bool:
    """Approve (release the held news, `note` atop the email) or discard (drop it, `note`
    says why) a waiting change; False when it is not waiting (done already, or unknown)."""
    note = " ".join((note or "").split())[:2000] or None
    decided = await connection.execute(
        update(changes)
        .where(changes.c.id == change_id, changes.c.review == WAITING)
        .values(
            review=APPROVED if approve else DISCARDED,
            review_note=note,
            reviewed_by=editor,
            reviewed_at=now,
        )
    )
    if not decided.rowcount:
        return False
    held = (notifications.c.change_id == change_id) & (notifications.c.status == "held")
    if approve:
        await connection.execute(
            update(notifications).where(held).values(status="pending", created_at=now)
        )
    else:
        await connection.execute(update(notifications).where(held).values(status="dropped"))
    action = "approved" if approve else "discarded"
    await record(connection, now, editor, action, change_id=change_id, detail=note)
    return True


async def to_remind(connection: AsyncConnection, before: datetime) -> list[ChangeRecord]:
    """Changes waiting since before `before` that no reminder went out for yet."""
    query = (
        select(*CHANGE_COLUMNS)
        .join(sources)
        .where(
            changes.c.review == WAITING,
            changes.c.detected_at < before,
            changes.c.reminded_at.is_(None),
        )
        .order_by(changes.c.id)
    )
    return [change_record(row) for row in (await connection.execute(query)).all()]


async def mark_reminded(connection: AsyncConnection, ids: list[int], now: datetime) -> None:
    if ids:
        await connection.execute(
            update(changes).where(changes.c.id.in_(ids)).values(reminded_at=now)
        )


@dataclass(frozen=True, slots=True)
class Reviewed:
    """Where a change of a reviewed source stands: its version (snapshot) and its review."""

    id: int
    source_id: str
    kind: str
    snapshot_id: int | None
    review: str | None
    country: str


def _reviewed(row: object) -> Reviewed:
    return Reviewed(row.id, row.source_id, row.kind, row.snapshot_id, row.review, row.country)  # type: ignore[attr-defined]


_REVIEWED = (
    changes.c.id,
    changes.c.source_id,
    changes.c.kind,
    changes.c.snapshot_id,
    changes.c.review,
    changes.c.country,
)


async def reviewed(connection: AsyncConnection, change_id: int) -> Reviewed | None:
    row = (await connection.execute(select(*_REVIEWED).where(changes.c.id == change_id))).first()
    return _reviewed(row) if row else None


async def waiting_of(
    connection: AsyncConnection, source_id: str, *, before: int | None = None, after: int = 0
) -> list[Reviewed]:
    """The source's changes waiting for an editor between two changes, oldest first."""
    query = select(*_REVIEWED).where(
        changes.c.source_id == source_id, changes.c.review == WAITING, changes.c.id > after
    )
    if before is not None:
        query = query.where(changes.c.id < before)
    rows = await connection.execute(query.order_by(changes.c.id))
    return [_reviewed(row) for row in rows]


async def told_snapshot(connection: AsyncConnection, source_id: str, before: int) -> int | None:
    """The version of the source its readers were last told of, before change `before`:
    the newest told change's (approved, or of a country nobody reviews); with none, the
    version the source's first change was found against. None when it is no longer kept."""
    told = (
        await connection.execute(
            select(changes.c.snapshot_id)
            .where(
                changes.c.source_id == source_id,
                changes.c.id < before,
                or_(changes.c.review.is_(None), changes.c.review == APPROVED),
            )
            .order_by(changes.c.id.desc())
            .limit(1)
        )
    ).first()
    if told is not None:
        return told.snapshot_id
    first = (
        await connection.execute(
            select(changes.c.snapshot_id)
            .where(changes.c.source_id == source_id)
            .order_by(changes.c.id)
            .limit(1)
        )
    ).first()
    if first is None or first.snapshot_id is None:
        return None
    return (
        await connection.execute(
            select(func.max(snapshots.c.id)).where(
                snapshots.c.source_id == source_id, snapshots.c.id < first.snapshot_id
            )
        )
    ).scalar()


async def retell(
    connection: AsyncConnection,
    change_id: int,
    change: Change,
    *,
    terms: Sequence[str] = (),
    review: str = WAITING,
) -> None:
    """Make `change` what the change tells (its summary, lines and significance, scored with
    its country's key `terms`), in place of what was found against a version readers were
    never told of; only while its review is `review` (one another editor decided meanwhile
    is left as it was told)."""
    await connection.execute(
        update(changes)
        .where(changes.c.id == change_id, changes.c.review == review)
        .values(**told(change, significance(change, terms)))
    )
