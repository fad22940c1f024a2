"""when a message's body was dropped

Retention (`[retention] message_bodies`) empties the bodies of mail done with after a
while, and a reader who erases themselves takes the bodies addressed to them along; the
row stays for the counts and the history, with the moment its body went.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("body_dropped_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN, not a batch copy of the table (see 0008): the copy would cascade.
    op.drop_column("messages", "body_dropped_at")
