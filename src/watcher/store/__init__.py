"""Storage: SQLAlchemy Core on SQLite (default) or PostgreSQL, migrated by Alembic at start."""

from watcher.store.db import (
    DatabaseError,
    create_engine,
    read_transaction,
    write_transaction,
)
from watcher.store.migrate import migrate

__all__ = [
    "DatabaseError",
    "create_engine",
    "migrate",
    "read_transaction",
    "write_transaction",
]
