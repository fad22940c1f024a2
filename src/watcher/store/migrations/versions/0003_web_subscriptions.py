"""web subscriptions: requests awaiting confirmation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_sent_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("requested_countries", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("requested_frequency", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("requested_frequency")
        batch_op.drop_column("requested_countries")
        batch_op.drop_column("confirm_sent_at")
