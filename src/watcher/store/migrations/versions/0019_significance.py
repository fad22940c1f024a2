"""how much a change matters: its significance (0 to 1) and the reasons for it; readers
who want only the notable changes

Each change gets a score and its reasons (`diff/significance.py`) when it is recorded. The
changes already in the log are scored here, as the code that upgrades reads them, without
the operator's key terms (which were not a setting then). A reader with `notable` set is
told only of changes scoring at least `significance.notable`.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    op.add_column("changes", sa.Column("significance", sa.Float(), nullable=True))
    op.add_column("changes", sa.Column("reasons", sa.Text(), nullable=True))
    op.add_column(
        "subscribers",
        sa.Column("notable", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    from watcher.diff import change_from_json
    from watcher.diff.significance import significance
    from watcher.packing import unpack

    changes = sa.table(
        "changes",
        sa.column("id", sa.Integer()),
        sa.column("data", sa.LargeBinary()),
        sa.column("significance", sa.Float()),
        sa.column("reasons", sa.Text()),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(changes.c.id, changes.c.data)
            .where(changes.c.id > last)
            .order_by(changes.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            scored = significance(change_from_json(unpack(row.data)))
            connection.execute(
                sa.update(changes)
                .where(changes.c.id == row.id)
                .values(significance=scored.score, reasons=json.dumps(list(scored.reasons)))
            )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_column("subscribers", "notable")
    op.drop_column("changes", "reasons")
    op.drop_column("changes", "significance")
