"""an index on the sources' live claims

A worker with nothing to claim sleeps until the next due time or the next lease to expire on
an overdue source: with this index both are a row read off an index, not a scan of every
source (`store.sources.next_due`); so is the search for claims left by a dead process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sources_claimed_until", "sources", ["claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_sources_claimed_until", table_name="sources")
