"""Leases left behind by a process that died: reclaim them now instead of at their expiry.

A claim is signed `host:pid:nonce`. On the same host, a claim whose process is gone (or
whose pid is now ours, under another nonce: a restarted container's PID 1) is stale.
Claims of other hosts are left to expire: we cannot see their processes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


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
