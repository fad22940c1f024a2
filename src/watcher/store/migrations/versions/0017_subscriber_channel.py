"""a channel's name in a column of its own

A subscriber declared with `channel = "NAME"` was stored with the address `channel:NAME` in
`subscribers.email`, so every reader of that column had to tell addresses from channels.
`subscribers.channel` now holds the name, and `email` is empty for such a subscriber;
`email_key` keeps `channel:NAME`, the key that makes each subscriber one row. The outbox's
`recipient` is where a message went, and stays `channel:NAME` for a channel's.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscribers", sa.Column("channel", sa.String(40), nullable=True))
    op.execute(
        "UPDATE subscribers SET channel = substr(email, 9), email = '' WHERE email LIKE 'channel:%'"
    )


def downgrade() -> None:
    op.execute("UPDATE subscribers SET email = 'channel:' || channel WHERE channel IS NOT NULL")
    op.drop_column("subscribers", "channel")
