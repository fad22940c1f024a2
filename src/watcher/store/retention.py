"""Retention: what is old enough to go (`[retention]`), dropped in short transactions.

- **Message bodies**: mail that is no longer going anywhere (sent, failed, cancelled) loses
  its body after `retention.message_bodies`; the row stays, with its recipient, subject,
  status and times, so the outbox's counts and history are whole. The body becomes empty
  and `body_dropped_at` says when.
- **Changes**: after `retention.changes` a change goes, with its notifications (never one a
  reader still waits for, nor one waiting for an editor) and the snapshots that
  only it pointed at. A source's latest snapshot is never dropped (the next check diffs
  against it), nor one a kept change points at.

Each step works through the table in chunks of `CHUNK` rows, one transaction each, so the
service's checks and deliveries are never held up for long by a year's worth of pruning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.store.db import write_transaction
from watcher.store.schema import changes, messages, notifications, snapshots

CHUNK = 1000
DONE = ("sent", "failed", "cancelled")


@dataclass
class Pruned:
    bodies: int = 0
    changes: int = 0
    snapshots: int = 0

    def __str__(self) -> str:
        return (
            f"{self.bodies} message bodies, {self.changes} changes and"
            f" {self.snapshots} snapshots dropped"
        )


async def prune(
    engine: AsyncEngine,
    *,
    now: datetime,
    message_bodies: timedelta | None,
    changes_after: timedelta | None,
) -> Pruned:
    """Drop what is older than its retention period (None: keep it for ever)."""
    pruned = Pruned()
    if message_bodies is not None:
        pruned.bodies = await drop_bodies(engine, now=now, before=now - message_bodies)
    if changes_after is not None:
        pruned.changes, pruned.snapshots = await drop_changes(engine, before=now - changes_after)
    return pruned


async def drop_bodies(
    engine: AsyncEngine,
    *,
    now: datetime,
    before: datetime | None = None,
    subscriber_id: int | None = None,
) -> int:
    """Empty the bodies of mail done with (sent, failed, cancelled) created before `before`,
    or addressed to `subscriber_id` (a reader who erased themselves); how many. Walks the
    table once, in id order, a chunk a transaction."""
    done, after = 0, 0
    where: list[ColumnElement[bool]] = [
        messages.c.status.in_(DONE),
        messages.c.body_dropped_at.is_(None),
    ]
    if before is not None:
        where.append(messages.c.created_at < before)
    if subscriber_id is not None:
        where.append(messages.c.subscriber_id == subscriber_id)
    while True:
        async with write_transaction(engine) as connection:
            query = (
                select(messages.c.id)
                .where(messages.c.id > after, *where)
                .order_by(messages.c.id)
                .limit(CHUNK)
            )
            found = list((await connection.execute(query)).scalars())
            if not found:
                return done
            emptied = update(messages).where(messages.c.id.in_(found))
            await connection.execute(emptied.values(body=b"", body_dropped_at=now))
            done, after = done + len(found), found[-1]


async def drop_changes(engine: AsyncEngine, *, before: datetime) -> tuple[int, int]:
    """Drop the changes detected before `before` that no reader still waits for, and the
    snapshots older than that which neither a kept change nor their source's next check
    needs; how many of each."""
    waited_for = exists().where(  # by a reader, or by the editors (store/review.py)
        notifications.c.change_id == changes.c.id,
        notifications.c.status.in_(("pending", "held")),
    )
    dropped_changes = dropped_snapshots = 0
    while True:
        async with write_transaction(engine) as connection:
            query = (
                select(changes.c.id)
                .where(
                    changes.c.detected_at < before,
                    ~waited_for,
                    or_(changes.c.review.is_(None), changes.c.review != "waiting"),
                )
                .order_by(changes.c.id)
                .limit(CHUNK)
            )
            found = list((await connection.execute(query)).scalars())
            if not found:
                break
            await connection.execute(
                delete(notifications).where(notifications.c.change_id.in_(found))
            )
            await connection.execute(delete(changes).where(changes.c.id.in_(found)))
            dropped_changes += len(found)
    newer = snapshots.alias("newer")
    superseded = exists().where(
        newer.c.source_id == snapshots.c.source_id, newer.c.id > snapshots.c.id
    )
    pointed_at = exists().where(changes.c.snapshot_id == snapshots.c.id)
    while True:
        async with write_transaction(engine) as connection:
            query = (
                select(snapshots.c.id)
                .where(and_(snapshots.c.taken_at < before, superseded, ~pointed_at))
                .order_by(snapshots.c.id)
                .limit(CHUNK)
            )
            found = list((await connection.execute(query)).scalars())
            if not found:
                break
            await connection.execute(delete(snapshots).where(snapshots.c.id.in_(found)))
            dropped_snapshots += len(found)
    return dropped_changes, dropped_snapshots
