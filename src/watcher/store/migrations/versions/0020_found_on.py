"""linked documents: the desk sources a page's links added, and which page that was

A page source with `documents = ...` follows the documents it links to: each is watched as a
source of the same country, kept on the desk with the page's id in `found_on`, and removed
when its link goes away (`check/documents.py`).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("desk_sources", sa.Column("found_on", sa.String(80), nullable=True))
    op.create_index("ix_desk_sources_found_on", "desk_sources", ["found_on"])


def downgrade() -> None:
    op.drop_index("ix_desk_sources_found_on", table_name="desk_sources")
    op.drop_column("desk_sources", "found_on")
