"""What the databases make of a statement: PostgreSQL's count of the rows it read, SQLite's
plan. Tests use them to show that a statement's work does not grow with a table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.sql import ClauseElement

from watcher.app import App
from watcher.store import create_engine, migrate, read_transaction


async def rows_read(app: App, *tables: str) -> int:
    """Rows of these tables PostgreSQL has read so far (sequential and index reads)."""
    async with read_transaction(app.engine) as connection:
        await connection.execute(text("SELECT pg_stat_force_next_flush()"))
    async with read_transaction(app.engine) as connection:
        await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        query = text(
            "SELECT sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))"
            " FROM pg_stat_user_tables WHERE relname = ANY(:tables)"
        )
        return int((await connection.execute(query, {"tables": list(tables)})).scalar_one())


async def sqlite_plan(path: Path, statement: ClauseElement) -> list[str]:
    """SQLite's query plan for `statement` on a migrated database, a step a line."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        await migrate(engine)
        compiled = statement.compile(
            dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        unbound = tuple(None for _ in compiled.positiontup or ())  # the plan needs no values
        async with engine.connect() as connection:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", unbound)
            return [row[3] for row in plan.all()]
    finally:
        await engine.dispose()
