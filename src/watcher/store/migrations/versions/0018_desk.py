"""sources added on the desk, and the operator's role

A source the operator adds from the web pages, the API or `watcher sources add` lives in
`desk_sources` (its settings as `[[countries.sources]]` writes them, as JSON); the sources
of the configuration file stay the file's. A desk source may be paused (not checked, kept)
and removed (not checked; its changes and snapshots stay readable). An editor's `role` is
"editor" (reviews changes) or "operator" (also sources and subscribers). And a partial
index finds the sources whose operator's alert is due (`alert_due`) at every drain without
reading the others.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_sources",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("country", sa.String(16), nullable=False),
        sa.Column("country_name", sa.Text(), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=False),
        sa.Column("edited_by", sa.String(254), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name="pk_desk_sources"),
    )
    op.add_column(
        "editors",
        sa.Column("role", sa.String(16), nullable=False, server_default="editor"),
    )
    op.create_index(
        "ix_sources_alert_due",
        "sources",
        ["alert_due"],
        postgresql_where=sa.text("alert_due = true"),
        sqlite_where=sa.text("alert_due = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_sources_alert_due", table_name="sources")
    op.drop_column("editors", "role")
    op.drop_table("desk_sources")
