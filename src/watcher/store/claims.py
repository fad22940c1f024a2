"""Claims: the short, renewed, fenced leases by which one worker at a time works on a row.

Sources (a check) and messages (a delivery) are claimed the same way. A claim is
`claimed_by` (the worker, signed `host:pid:nonce`) and `claimed_until`. It is short
(`lease_for`: a worker that died, on any host, lets go within about a minute), renewed
every third of a lease while the work goes on (`renewing`), and every write of the work's
result goes through the fence (`held`): a worker whose claim lapsed and was taken over
writes nothing over the new holder's work.

Leases left behind by a process that died on this host are reclaimed at once instead of at
their expiry: a claim whose process is gone (or whose pid is now ours, under another nonce:
a restarted container's PID 1) is stale. Claims of other hosts are left to expire: we
cannot see their processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from watcher.errors import StoreError
from watcher.store.db import chunks, lock_rows, write_transaction

log = logging.getLogger("watcher.claims")

LEASE_MIN = timedelta(seconds=60)
FENCE_WAIT = "10s"  # PostgreSQL's lock_timeout while the fence waits: never forever


def lease_for(timeout: timedelta) -> timedelta:
    """How long a claim lasts unless renewed: a minute, or two of the work's timeouts when
    they are longer, so that no single request outlasts a lease between two renewals."""
    return max(LEASE_MIN, timeout * 2)


async def held(
    connection: AsyncConnection, table: Table, ids: Collection[Any], worker: str
) -> set[Any]:
    """Of these rows, those `worker` still holds, locked until the transaction ends: the
    fence every write of a claimed row's result goes through. A row another transaction is
    holding (our own renewal of it) is waited for, never taken for lost; for `FENCE_WAIT`
    at most (a transaction left open elsewhere must not hang the writer): then the
    database's refusal is a `StoreError`, and the pass is tried again shortly."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text(f"SET LOCAL lock_timeout = '{FENCE_WAIT}'"))
    kept: set[Any] = set()
    for batch in chunks(sorted(set(ids))):
        query = select(table.c.id).where(table.c.id.in_(batch), table.c.claimed_by == worker)
        locked = lock_rows(connection, query, wait=True)
        kept |= {row.id for row in await connection.execute(locked)}
    return kept


async def renew(
    connection: AsyncConnection, table: Table, ids: Collection[Any], worker: str, until: datetime
) -> None:
    """Extend `worker`'s claims on these rows (those it still holds) to `until`. Rows being
    written right now are skipped, not waited for: their result is being saved, which ends
    the claim anyway, and the fence (`held`) waits for this renewal instead."""
    for batch in chunks(sorted(set(ids))):
        ours = select(table.c.id).where(table.c.id.in_(batch), table.c.claimed_by == worker)
        await connection.execute(
            update(table)
            .where(table.c.id.in_(lock_rows(connection, ours)))
            .values(claimed_until=until)
        )


async def release(
    connection: AsyncConnection, table: Table, ids: Collection[Any], worker: str
) -> None:
    """Give back claims that were not used (a pass interrupted, a delivery stopped). A row
    another transaction holds is skipped, not waited for: its claim lapses by itself."""
    for batch in chunks(sorted(set(ids))):
        ours = select(table.c.id).where(table.c.id.in_(batch), table.c.claimed_by == worker)
        await connection.execute(
            update(table)
            .where(table.c.id.in_(lock_rows(connection, ours)))
            .values(claimed_by=None, claimed_until=None)
        )


@asynccontextmanager
async def renewing(
    engine: AsyncEngine,
    table: Table,
    ids: Callable[[], Collection[Any]],
    *,
    worker: str,
    clock: Callable[[], datetime],
    lease: timedelta,
) -> AsyncIterator[None]:
    """Renew `worker`'s claims on the rows `ids()` names every third of `lease`, for as long
    as the block runs. A renewal that fails is tried at the next turn; a claim that lapses
    meanwhile is fenced (`held`): the late result is dropped, not written."""

    async def renewals() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            until = clock() + lease
            try:  # a short transaction per slice: a fence waits for one slice at most
                for batch in chunks(sorted(set(ids()))):
                    async with write_transaction(engine) as connection:
                        await renew(connection, table, batch, worker, until)
            except StoreError as exc:
                log.warning("cannot renew the claims on %s: %s", table.name, exc)

    task = asyncio.create_task(renewals(), name=f"watcher-renew-{table.name}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def is_dead_local_worker(name: str, me: str) -> bool:
    host, _, rest = name.partition(":")
    pid_text, _, _nonce = rest.partition(":")
    if host != socket.gethostname()[:40] or not pid_text.isdigit() or name == me:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def release_stale_claims(
    connection: AsyncConnection, table: Table, *, now: datetime, me: str, mine: bool = False
) -> int:
    """Clear the live-looking claims on `table` whose local owner process is gone; with
    `mine`, our own too (the caller knows none of its work holds them: what an earlier run
    of ours claimed before it failed)."""
    rows = await connection.execute(claimants(table, now))
    dead = [
        row.claimed_by
        for row in rows.all()
        if is_dead_local_worker(row.claimed_by, me) or (mine and row.claimed_by == me)
    ]
    return await _clear(connection, table, dead)


def claimants(table: Table, now: datetime) -> Select[tuple[str]]:
    """The workers holding a claim on `table` that has not expired. Asked at every drain of
    the outbox, which keeps every message sent: it must read only the few claimed rows (by
    the `claimed_until` index), not the table."""
    return (
        select(table.c.claimed_by)
        .where(table.c.claimed_until >= now, table.c.claimed_by.is_not(None))
        .distinct()
    )


async def _clear(connection: AsyncConnection, table: Table, workers: Iterable[str]) -> int:
    workers = list(workers)
    if not workers:
        return 0
    result = await connection.execute(
        update(table)
        .where(table.c.claimed_by.in_(workers))
        .values(claimed_by=None, claimed_until=None)
    )
    return int(result.rowcount)
