"""the lines of a source learned as noise

When a check finds a change in a page and `recheck_after` is set, the page is fetched again
seconds later; the lines that differ between the two fetches (a counter, a clock, a rotating
banner) are learned as noise and left out of that source's documents from then on. They are
kept here as JSON, shown by `watcher noise` and the source's web page, and forgotten with
`watcher noise --forget`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("volatile", sa.Text(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN, not a batch copy of the table (see 0008): the copy would cascade.
    op.drop_column("sources", "volatile")
