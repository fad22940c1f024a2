"""indexes for a fan-out: the outbox's claims, and news that is still settling

A delivery claims the next batch of queued messages in the order (next attempt, id). With
the index on (status, next_attempt_at) alone the id had to be sorted: PostgreSQL read and
sorted every queued message at each batch (a fan-out to 1,500 readers read ~74,000 rows to
deliver them). With the id in the index the batch is read off it, in order, and no more.

Each batch a drain composes asks which countries had news within `mail.settle`: without an
index on (status, created_at) that read every pending notification, at every batch (588,000
rows to compose for 4,000 readers); with it, only the recent ones.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_status_next_attempt_at", table_name="messages")
    op.create_index(
        "ix_messages_status_next_attempt_at_id", "messages", ["status", "next_attempt_at", "id"]
    )
    op.create_index("ix_notifications_status_created_at", "notifications", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_status_created_at", table_name="notifications")
    op.drop_index("ix_messages_status_next_attempt_at_id", table_name="messages")
    op.create_index("ix_messages_status_next_attempt_at", "messages", ["status", "next_attempt_at"])
