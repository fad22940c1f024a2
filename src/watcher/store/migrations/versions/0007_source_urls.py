"""an index on the sources' URLs

Each batch a worker claims also takes the sources sharing a URL with those it claimed (one
fetch serves them all): with this index that is a few rows read by URL, not a scan of every
source per batch, so the database's work per check no longer grows with the table. A hash
index on PostgreSQL (equality is all it answers, and a long URL fits, where a btree entry
is limited to about 2,700 bytes); a btree on SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sources_url", "sources", ["url"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_sources_url", table_name="sources")
