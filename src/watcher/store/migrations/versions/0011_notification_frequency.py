"""each notification knows the frequency its reader hears at

A drain composes "immediate" emails every few seconds and each digest once its period
closes. Both looked for pending news on (status, subscriber_id) and filtered the frequency
through the subscriber: a drain read every pending notification of the digest readers, all
day long (4,000 daily readers: ~8,000 rows a drain). With the frequency on the notification
and in the indexes, the immediate part walks only immediate news, in subscriber order, and a
digest only the news from before its period's end.

The pending notifications take their readers' frequency here; a reader who changes it takes
their pending news along (store/subscribers.py). Composed and dropped notifications keep
NULL: nothing looks for them by frequency.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("frequency", sa.String(16), nullable=True))
    op.execute(
        "UPDATE notifications SET frequency = (SELECT subscribers.frequency FROM subscribers"
        " WHERE subscribers.id = notifications.subscriber_id) WHERE status = 'pending'"
    )
    op.drop_index("ix_notifications_status_subscriber_id", table_name="notifications")
    op.drop_index("ix_notifications_status_created_at", table_name="notifications")
    op.create_index(
        "ix_notifications_status_frequency_subscriber_id",
        "notifications",
        ["status", "frequency", "subscriber_id"],
    )
    op.create_index(
        "ix_notifications_status_frequency_created_at",
        "notifications",
        ["status", "frequency", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_status_frequency_created_at", table_name="notifications")
    op.drop_index("ix_notifications_status_frequency_subscriber_id", table_name="notifications")
    op.create_index("ix_notifications_status_created_at", "notifications", ["status", "created_at"])
    op.create_index(
        "ix_notifications_status_subscriber_id", "notifications", ["status", "subscriber_id"]
    )
    op.drop_column("notifications", "frequency")
