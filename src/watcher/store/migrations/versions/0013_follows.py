"""sections and keywords readers follow

A reader may follow some sections of a country's pages, a section in every country, and
keywords (`diff/interest.py`). Each choice is a row of `follows`; the sections a reader can
choose from are each source's latest top-level headings (`sources.sections`, JSON, kept as
snapshots are taken); a web request awaiting confirmation holds its choices in
`subscribers.requested_follows`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_follows_subscriber_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subscriber_id", "kind", "country", "value", name=op.f("pk_follows")
        ),
    )
    op.create_index("ix_follows_kind_country", "follows", ["kind", "country"])
    op.add_column("sources", sa.Column("sections", sa.Text(), nullable=True))
    op.add_column("subscribers", sa.Column("requested_follows", sa.Text(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN, not a batch copy of the table (see 0008): the copy would cascade.
    op.drop_column("subscribers", "requested_follows")
    op.drop_column("sources", "sections")
    op.drop_index("ix_follows_kind_country", table_name="follows")
    op.drop_table("follows")
