"""Source rows: the configured sources, their check state, and claims on them.

A check claims its sources first (a lease written in one short transaction), so that a second
`watcher check`, or another worker on the same PostgreSQL database, never checks a source that
is already being checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, case, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.config.sources import Source
from watcher.fetch.client import Validators
from watcher.store.db import analyze_if_grown, chunks, lock_rows
from watcher.store.schema import sources

SPREAD = 4  # a batch is chosen from this many times its size of the most overdue
# The schedule, as ix_sources_due (active, next_check_at, turn, id) holds it: an equality on
# `active` (not IS TRUE, which no index answers), so the sources removed from the
# configuration, kept for their history, are never walked past.
ACTIVE = sources.c.active == true()
IN_CLAIM_ORDER = (sources.c.next_check_at, sources.c.turn, sources.c.id)
ALERT_DUE = sources.c.alert_due == true()  # as ix_sources_alert_due, a partial index, holds it


@dataclass(frozen=True, slots=True)
class SourceState:
    id: str
    country: str
    url: str
    name: str
    active: bool
    kind: str | None
    extract_key: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    content_hash: str | None
    fingerprint: str | None
    status: str
    failures: int
    last_error: str | None
    last_warning: str | None
    volatile: str | None  # JSON of the lines learned as noise: `Noise.from_json`
    failing_since: datetime | None
    alerted_at: datetime | None
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_change_at: datetime | None
    next_check_at: datetime

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)

    @property
    def has_baseline(self) -> bool:
        return self.content_hash is not None

    @classmethod
    def from_row(cls, row: Any) -> SourceState:
        mapping = row._mapping
        return cls(**{name: mapping[name] for name in _STATE_FIELDS})


_STATE_FIELDS = tuple(field.name for field in fields(SourceState))


async def sync_sources(
    connection: AsyncConnection,
    configured: Sequence[Source],
    now: datetime,
    paused: frozenset[str] = frozenset(),
) -> None:
    """Make the table match the configuration: new sources added, due at once, gone ones
    deactivated, `paused` ones too (kept, not checked). A new source takes the next turn on
    its host (`turns`)."""
    rows = (
        await connection.execute(
            select(sources.c.id, sources.c.country, sources.c.url, sources.c.name, sources.c.active)
        )
    ).all()
    stored = {row.id: row for row in rows}
    added = [s for s in configured if s.id not in stored]
    if added:
        turn = turns([row.url for row in rows], [s.url for s in added])
        fresh = [_fresh(s, now, next(turn), s.id not in paused) for s in added]
        await connection.execute(sources.insert(), fresh)
        await analyze_if_grown(connection, sources, len(fresh))
    for source in configured:
        row = stored.get(source.id)
        wanted = (source.country, source.url, source.name, source.id not in paused)
        if row is not None and (row.country, row.url, row.name, row.active) != wanted:
            await connection.execute(
                update(sources)
                .where(sources.c.id == source.id)
                .values(country=source.country, url=source.url, name=source.name, active=wanted[3])
            )
    kept = {source.id for source in configured}
    gone = [row.id for row in rows if row.active and row.id not in kept]
    for batch in chunks(gone):
        await connection.execute(
            update(sources).where(sources.c.id.in_(batch)).values(active=False)
        )


async def put_source(
    connection: AsyncConnection, source: Source, now: datetime, *, active: bool, due: bool
) -> None:
    """One source's row as the desk leaves it: added (due at once, its host's next turn), or
    its country, URL and name brought up to date, `active` or not; with `due`, checked as
    soon as a worker is free. The one-source `sync_sources`."""
    row = (await connection.execute(select(sources.c.id).where(sources.c.id == source.id))).first()
    if row is None:
        host = host_key(source.url)
        urls = (await connection.execute(select(sources.c.url))).scalars().all()
        turn = sum(1 for url in urls if host_key(url) == host)
        await connection.execute(sources.insert(), [_fresh(source, now, turn, active)])
        return
    values: dict[str, Any] = {
        "country": source.country,
        "url": source.url,
        "name": source.name,
        "active": active,
    }
    if due:
        values["next_check_at"] = now
    await connection.execute(update(sources).where(sources.c.id == source.id).values(**values))


def _fresh(source: Source, now: datetime, turn: int, active: bool) -> dict[str, Any]:
    return {
        "id": source.id,
        "country": source.country,
        "url": source.url,
        "name": source.name,
        "active": active,
        "status": "new",
        "failures": 0,
        "created_at": now,
        "next_check_at": now,
        "turn": turn,
    }


async def make_due(
    connection: AsyncConnection,
    now: datetime,
    *,
    ids: Sequence[str] | None = None,
    country: str | None = None,
) -> int:
    """Recheck now: these active sources (`ids`, a `country`'s, or with neither all of them)
    are due at once; how many. Call in a write transaction, then wake the workers."""
    statement = update(sources).where(ACTIVE).values(next_check_at=now)
    if country is not None:
        statement = statement.where(sources.c.country == country)
    if ids is None:
        return int((await connection.execute(statement)).rowcount or 0)
    count = 0
    for batch in chunks(list(ids)):
        result = await connection.execute(statement.where(sources.c.id.in_(batch)))
        count += int(result.rowcount or 0)
    return count


def turns(stored: Sequence[str], added: Sequence[str]) -> Iterator[int]:
    """The turn of each added source (by URL, in configuration order) on its host: the number
    of sources its host had before it, stored ones first."""
    seen = Counter(host_key(url) for url in stored)
    for url in added:
        host = host_key(url)
        yield seen[host]
        seen[host] += 1


def host_key(url: str) -> str:
    """The host (and port) whose requests `checks.per_host` limits."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


async def claim_sources(
    connection: AsyncConnection,
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    ids: Sequence[str] | None = None,
    due_only: bool = True,
    limit: int | None = None,
    siblings_within: timedelta | None = None,
) -> list[SourceState]:
    """Lease the sources to check now: the given ids, or those due, longest overdue first, at
    most `limit` of them (rows another worker is claiming are skipped, not waited for). With
    `siblings_within`, also the sources sharing a URL with those that are due within that
    time anyway: one fetch serves them all. Call in a write transaction.

    Sources due at the same instant (a new configuration, an outage's end) come in turns:
    every host's first, then every host's second. A batch (`limit`) is also spread over
    hosts when their due times cluster: it is chosen from `due_window`'s `SPREAD` x `limit`,
    each host's first before any host's second (`across_hosts`). One site's pages would
    otherwise fill a batch whose requests `checks.per_host` lets out two at a time, while
    the fetch slots idle."""
    query = select(sources).where(ACTIVE, _free(now))
    if due_only:
        query = query.where(sources.c.next_check_at <= now)
    query = query.order_by(*IN_CLAIM_ORDER)
    if limit is not None and ids is None:
        window = due_window(now, SPREAD * limit)
        candidates = (await connection.execute(lock_rows(connection, window))).all()
        chosen = across_hosts([(row.id, row.url) for row in candidates], limit)
        by_id: dict[str, Any] = {}
        for batch in chunks(chosen):  # locked above: read whole
            by_id.update(
                (row.id, row)
                for row in await connection.execute(select(sources).where(sources.c.id.in_(batch)))
            )
        rows = [by_id[source_id] for source_id in chosen if source_id in by_id]
    elif ids is not None:
        query = query if limit is None else query.limit(limit)
        rows = []
        for batch in chunks(list(ids)):
            rows += (
                await connection.execute(
                    lock_rows(connection, query.where(sources.c.id.in_(batch)))
                )
            ).all()
    else:
        rows = (await connection.execute(lock_rows(connection, query))).all()
    if siblings_within is not None and rows:
        taken = {row.id for row in rows}
        for batch in chunks(sorted({row.url for row in rows})):
            soon = (
                select(sources)
                .where(ACTIVE, _free(now), sources.c.url.in_(batch))
                .where(sources.c.next_check_at <= now + siblings_within)
            )
            found = (await connection.execute(lock_rows(connection, soon))).all()
            rows += [row for row in found if row.id not in taken]
    claimed = [SourceState.from_row(row) for row in rows]
    for batch in chunks([state.id for state in claimed]):
        await connection.execute(
            update(sources)
            .where(sources.c.id.in_(batch))
            .values(claimed_by=worker, claimed_until=now + lease)
        )
    return claimed


def due_window(now: datetime, size: int) -> Select[Any]:
    """The `size` due sources a batch is chosen from, in claim order: off the due index
    (`ix_sources_due`), read in its order and left once `size` are found, whatever the
    number of sources due."""
    return (
        select(sources.c.id, sources.c.url)
        .where(sources.c.next_check_at <= now, ACTIVE, _free(now))
        .order_by(*IN_CLAIM_ORDER)
        .limit(size)
    )


def across_hosts(candidates: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """At most `limit` of the (id, URL) candidates, given most overdue first: every host's
    first, then every host's second, and so on, each round in the order given."""
    seen: dict[str, int] = {}
    ranked = []
    for position, (source_id, url) in enumerate(candidates):
        host = host_key(url)
        rank = seen[host] = seen.get(host, -1) + 1
        ranked.append((rank, position, source_id))
    return [source_id for _, _, source_id in sorted(ranked)[:limit]]


def _free(now: datetime) -> Any:
    return or_(sources.c.claimed_until.is_(None), sources.c.claimed_until < now)


async def next_due(connection: AsyncConnection, now: datetime) -> datetime | None:
    """When the next check falls due for this worker to claim: the earliest due time of the
    active sources nobody holds, else the earliest lease to expire on one that is overdue;
    None with nothing to check. A few rows read off indexes, whatever the number of
    sources."""
    earliest, held = due_queries(now)
    due = (await connection.execute(earliest)).scalar()
    expiry = (await connection.execute(held)).scalar()
    moments = [moment for moment in (due, expiry) if moment is not None]
    return min(moments) if moments else None


def due_queries(now: datetime) -> tuple[Select[Any], Select[Any]]:
    """`next_due`'s statements: the earliest due time nobody holds; the earliest lease to
    expire on an overdue source."""
    earliest = (
        select(sources.c.next_check_at)
        .where(ACTIVE, _free(now))
        .order_by(sources.c.next_check_at)
        .limit(1)
    )
    held = (
        select(sources.c.claimed_until)
        .where(ACTIVE, sources.c.claimed_until >= now, sources.c.next_check_at <= now)
        .order_by(sources.c.claimed_until)
        .limit(1)
    )
    return earliest, held


async def source_counts(connection: AsyncConnection) -> tuple[int, int]:
    """How many sources are active, and how many of them failing: one aggregate, no rows."""
    failing = func.sum(case((sources.c.status == "failing", 1), else_=0))
    query = select(func.count(), failing).select_from(sources).where(ACTIVE)
    total, failed = (await connection.execute(query)).one()
    return int(total), int(failed or 0)


async def save_state(connection: AsyncConnection, source_id: str, **values: Any) -> None:
    """Write the outcome of a check and release the claim on the source."""
    await connection.execute(
        update(sources)
        .where(sources.c.id == source_id)
        .values(claimed_by=None, claimed_until=None, **values)
    )


async def load_states(
    connection: AsyncConnection, *, active_only: bool = True, country: str | None = None
) -> list[SourceState]:
    query = select(sources).order_by(sources.c.country, sources.c.id)
    if active_only:
        query = query.where(ACTIVE)
    if country:
        query = query.where(sources.c.country == country)
    return [SourceState.from_row(row) for row in (await connection.execute(query)).all()]


async def load_state(connection: AsyncConnection, source_id: str) -> SourceState | None:
    row = (await connection.execute(select(sources).where(sources.c.id == source_id))).first()
    return SourceState.from_row(row) if row else None


async def alert_is_due(connection: AsyncConnection) -> bool:
    """Is any source's alert due? (A cheap look before a write transaction.)"""
    query = select(sources.c.id).where(ALERT_DUE).limit(1)
    return (await connection.execute(query)).first() is not None


async def due_alerts(connection: AsyncConnection) -> list[SourceState]:
    """The sources whose operator's alert is due (`alert_due`), locked for this transaction:
    another worker composing meanwhile skips them. Call in a write transaction."""
    query = select(sources).where(ALERT_DUE).order_by(sources.c.id)
    rows = (await connection.execute(lock_rows(connection, query))).all()
    return [SourceState.from_row(row) for row in rows]


async def alerts_taken(connection: AsyncConnection, ids: Sequence[str]) -> None:
    """These sources' alerts are queued (or no longer wanted)."""
    if ids:
        statement = update(sources).where(sources.c.id.in_(list(ids))).values(alert_due=False)
        await connection.execute(statement)


async def forget_noise(connection: AsyncConnection, ids: Sequence[str] | None) -> list[str]:
    """Forget the lines learned as noise for these sources (all, with None); the ids that
    had any. Their next check takes a fresh baseline, since the stored snapshot was made
    without those lines (`document_key` holds the noise). A check in flight that learns anew
    writes what it learned afterwards. Call in a write transaction."""
    query = select(sources.c.id).where(sources.c.volatile.is_not(None)).order_by(sources.c.id)
    found: list[str] = []
    for batch in [None] if ids is None else chunks(list(ids)):
        scoped = query if batch is None else query.where(sources.c.id.in_(batch))
        found += (await connection.execute(scoped)).scalars().all()
    for batch in chunks(found):
        await connection.execute(
            update(sources).where(sources.c.id.in_(batch)).values(volatile=None)
        )
    return found
