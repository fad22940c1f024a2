"""an index for every foreign key, and for the outbox's live claims

Pruning old snapshots sets `changes.snapshot_id` to NULL where it pointed at them; with no
index on that column, each deleted snapshot made the database read the whole change log.
Looking for claims left by a dead process read every message ever sent, at every drain.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_changes_snapshot_id", "changes", ["snapshot_id"])
    op.create_index("ix_notifications_change_id", "notifications", ["change_id"])
    op.create_index("ix_notifications_message_id", "notifications", ["message_id"])
    op.create_index("ix_messages_claimed_until", "messages", ["claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_messages_claimed_until", table_name="messages")
    op.drop_index("ix_notifications_message_id", table_name="notifications")
    op.drop_index("ix_notifications_change_id", table_name="notifications")
    op.drop_index("ix_changes_snapshot_id", table_name="changes")
