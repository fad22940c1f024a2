"""Storage: SQLAlchemy Core on SQLite (default) or PostgreSQL, migrated by Alembic at start."""

from watcher.store.db import (
    create_engine,
    read_transaction,
    write_transaction,
)
from watcher.store.migrate import migrate

__all__ = [
    "create_engine",
    "migrate",
    "read_transaction",
    "write_transaction",
]
