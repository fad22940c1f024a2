"""The database's clock, for every worker on one PostgreSQL database to agree on time.

Due times, leases, the settle window and digest periods are compared across workers: one
whose clock runs five minutes ahead would take others' claims for expired, check pages
early, mail before a country settled and close digest periods early. The server's time is
read as an offset from ours (half the round trip allowed for), at start and every minute,
so reading the clock stays a function call. SQLite has one machine, and its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.store.db import read_transaction


def local_now() -> datetime:
    return datetime.now(UTC)


class DatabaseClock:
    """`clock()`: the database server's time, as last measured against the local clock."""

    def __init__(self, local: Callable[[], datetime] = local_now) -> None:
        self.local = local
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.local() + self.offset

    async def sync(self, engine: AsyncEngine) -> None:
        """Measure the offset again (PostgreSQL; on SQLite it stays zero)."""
        if engine.dialect.name != "postgresql":
            return
        async with read_transaction(engine) as connection:
            started, asked = time.monotonic(), self.local()
            server = (await connection.execute(text("SELECT clock_timestamp()"))).scalar_one()
            half_trip = timedelta(seconds=(time.monotonic() - started) / 2)
        self.offset = server - (asked + half_trip)
