"""the operator's alert is queued by the check and composed by the outbox

A check that finds a source failing `checks.alert_after` times in a row used to compose the
operator's email itself, reaching up to the email composer. It now marks the source
`alert_due` in the commit that records the failure; composing the outbox turns each marked
source into the alert email and clears the mark, in one transaction.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column("alert_due", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("sources", "alert_due")
