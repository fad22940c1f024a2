"""a warning on a source's last successful check

A check can succeed while something about the response is off: a feed feedparser had to
recover (an undefined entity, a truncated body), a page whose declared charset could not
decode it (read as UTF-8 instead). The check goes on, and what was off is kept here, shown
by `watcher sources`, the API and the web pages, and cleared by the next extraction that
finds nothing wrong.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("last_warning", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), not a batch copy of the table:
    # copying `sources` on SQLite drops and recreates it, and with foreign keys on, that
    # cascades to the snapshots and changes that point at it.
    op.drop_column("sources", "last_warning")
