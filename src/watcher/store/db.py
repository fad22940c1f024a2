"""The database connection, and every place where SQLite and PostgreSQL differ.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and starts write
transactions with `BEGIN IMMEDIATE`: a transaction that reads first and writes later would
otherwise fail at once with "database is locked" when a second process writes, instead of
waiting its turn. PostgreSQL needs none of that; it gets row locks with SKIP LOCKED instead.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, Select, Table, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from watcher.errors import StoreError

BUSY_TIMEOUT_SECONDS = 60


def async_url(url: str) -> URL:
    """`sqlite:///x.db` / `postgresql://...` -> the same URL with its asyncio driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreError(f"unsupported database {url!r}: use sqlite:/// or postgresql://")


def create_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        return _sqlite_engine(target)
    return create_async_engine(target, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (the driver's own is DEFERRED).
        dbapi_connection.isolation_level = None
        use_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("watcher_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def use_wal(dbapi_connection: Any) -> None:
    """Put the database in WAL mode (it stays so, in the file).

    Leaving the rollback journal needs the file to itself, and SQLite answers "database is
    locked" at once, without the busy timeout, while another process is doing the same: two
    first starts on a new database. The other one's switch takes milliseconds, so wait a
    little (blocking: this runs while a connection is made) and ask again.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
        finally:
            cursor.close()
        time.sleep(0.02)


def store_error(exc: BaseException) -> StoreError:
    """The `StoreError` for what the database (or the disk under it) said."""
    if isinstance(exc, StoreError):
        return exc
    text = str(getattr(exc, "orig", None) or exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, DBAPIError | OSError):
        error = StoreError(f"database error: {detail}")
    else:  # a bug in what the transaction did, not the database
        error = StoreError(f"the transaction failed: {type(exc).__name__}: {detail}")
    error.__cause__ = exc
    return error


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that intends to write: on SQLite it takes the write lock up front.
    What the database refuses (a full disk, a lost server) comes out as a `StoreError`."""
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(watcher_write=True)
            async with connection.begin():
                yield connection
    except DBAPIError as exc:
        raise store_error(exc) from exc


@asynccontextmanager
async def read_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    try:
        async with engine.connect() as connection, connection.begin():
            yield connection
    except DBAPIError as exc:
        raise store_error(exc) from exc


def insert_ignoring_duplicates(
    connection: AsyncConnection, table: Table, index_elements: Sequence[str]
) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect."""
    # Imported here: loading the PostgreSQL dialect costs a SQLite command ~30 ms at start.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


CHUNK = 500  # ids per IN (...) clause, well under every driver's parameter limit


ANALYZE_AFTER = 1_000  # rows added at once: the table's statistics are taken anew


async def analyze_if_grown(connection: AsyncConnection, table: Table, added: int) -> None:
    """PostgreSQL plans each query by its statistics of the tables, which autovacuum takes a
    minute or so after rows arrive. Until then a table that grew by thousands of rows is
    planned as nearly empty: every batch's claim, or every batch of subscribers a drain
    composes for, became a scan of the whole table (quadratic work in all). After
    `ANALYZE_AFTER` rows or more at once, take the statistics now; it samples, so it stays
    cheap on a big table."""
    if added >= ANALYZE_AFTER and connection.dialect.name == "postgresql":
        await connection.execute(text(f"ANALYZE {table.name}"))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`, one IN (...) clause each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lock_rows(
    connection: AsyncConnection,
    query: Select[Any],
    of: Table | None = None,
    *,
    wait: bool = False,
) -> Select[Any]:
    """Rows (of `of`, when the query joins) this transaction will update. The lock is FOR NO
    KEY UPDATE: rows of other tables may still point at these meanwhile (a new notification
    of a subscriber being composed for).

    By default rows another transaction holds are skipped, not waited for: claims, where
    another worker is already on them. With `wait`, they are waited for: the fence, which
    must see every row this worker holds, even one its own renewal is touching right now.

    SQLite has no row locks and needs none: BEGIN IMMEDIATE already serialises writers.
    """
    if connection.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=not wait, of=of, key_share=True)
    return query


async def exclusive(connection: AsyncConnection, name: str) -> None:
    """Hold a lock named `name` until this transaction ends: one process at a time runs the
    guarded step (migrating, syncing the configuration); the others wait, then find it done.

    On SQLite the write transaction's BEGIN IMMEDIATE already is that lock.
    """
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# PostgreSQL's LISTEN/NOTIFY channel on which workers hear that due times moved earlier.
DUE_CHANNEL = "watcher_due"


async def notify_due(connection: AsyncConnection) -> None:
    """Wake the idle workers when this transaction commits: sources were added or made due
    (PostgreSQL; on SQLite one process does all the work and wakes itself)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DUE_CHANNEL})


@asynccontextmanager
async def listening(engine: AsyncEngine, on_notice: Callable[[], None]) -> AsyncIterator[None]:
    """Call `on_notice` whenever another worker says due times moved (`notify_due`), for as
    long as the context lasts. One connection of the pool listens; nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None

        def heard(*_: object) -> None:
            on_notice()

        await driver.add_listener(DUE_CHANNEL, heard)
        try:
            yield
        finally:
            await driver.remove_listener(DUE_CHANNEL, heard)
