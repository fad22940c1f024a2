"""Bring the schema to the newest revision at start; several processes may try at once.

Migrations are named `NNNN_what.py` with revision id `NNNN`, one after the other, so the head
is the highest number; a test holds that against Alembic's own answer. Checking it costs one
query, and Alembic (a quarter of a second to import) is loaded only when there is work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.store.db import exclusive

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"


def head_revision() -> str:
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        try:
            return (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        except (OperationalError, ProgrammingError):  # no table yet: a new database
            return None


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head, unless the database is there already (the common, cheap case)."""
    if await current_revision(engine) == head_revision():
        return
    async with engine.connect() as connection:
        connection = await connection.execution_options(watcher_write=True)
        async with connection.begin():
            await exclusive(connection, "watcher:migrate")
            await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
