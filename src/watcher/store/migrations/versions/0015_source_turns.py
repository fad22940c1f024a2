"""sources due together are claimed host by host, off one index

A worker claims the most overdue sources a batch at a time. Sources due at the same instant
(every source of a new configuration; a pass made due at once) came in id order, which is
one site's pages and then another's: a batch of one site's pages is let out `per_host` at a
time while the fetch slots idle, and a slow site reached late in the pass ends it late.
`sources.turn` is a source's place among its host's sources (configuration order), and
claims order by (next_check_at, turn, id): every host's first, then every host's second.

A new source was due with next_check_at NULL, and the claim asked for "NULL or overdue",
sorted NULLs first: PostgreSQL read and sorted every due source for every batch (a pass
over N due sources: N x N / batch rows). New sources are now due from when they were added,
and `ix_sources_due` (active, next_check_at, turn, id) answers the claim in its order, a
batch's worth of rows read, past none of the sources removed from the configuration (kept,
inactive, for their history, and overdue for ever). The column stays nullable (altering it
would rebuild the table on SQLite), but nothing writes NULL any more.

Existing sources take their turns in the order they were added.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections import Counter
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE sources SET next_check_at = created_at WHERE next_check_at IS NULL")
    # Plain ALTERs: a batch operation rebuilds the table on SQLite, and dropping the old
    # `sources` would cascade to every snapshot and change (foreign keys are on).
    op.add_column("sources", sa.Column("turn", sa.Integer(), nullable=False, server_default="0"))
    op.drop_index("ix_sources_next_check_at", table_name="sources")
    op.create_index("ix_sources_due", "sources", ["active", "next_check_at", "turn", "id"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, url FROM sources ORDER BY created_at, id")).all()
    seen: Counter[str] = Counter()
    turns = []
    for source_id, url in rows:
        host = urlsplit(url).netloc.rpartition("@")[2].lower()
        if seen[host]:
            turns.append({"id": source_id, "turn": seen[host]})
        seen[host] += 1
    if turns:
        bind.execute(sa.text("UPDATE sources SET turn = :turn WHERE id = :id"), turns)


def downgrade() -> None:
    op.drop_index("ix_sources_due", table_name="sources")
    op.create_index("ix_sources_next_check_at", "sources", ["next_check_at"])
    op.drop_column("sources", "turn")
