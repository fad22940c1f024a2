"""A digest tells each page once: the difference between the version its readers were last
told of and the newest (A → B → C in one period reads A → C, with the dates between), not
one entry per change found on the way. A → B → A tells nothing of that page.

The two versions are compared as any two stored versions are (`diff/compared.py`: in the
extraction pool, within `checks.extract_timeout`). Where that cannot be done (a version no
longer kept, a comparison past its bounds, a page that became a feed), the period's
changes are told one by one, as found: a digest never loses news for want of a diff.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff.compared import Unlike, compare
from watcher.diff.significance import significance
from watcher.errors import CheckError
from watcher.notify.parts import Telling
from watcher.store.changes import ChangeRecord, snapshot_document
from watcher.store.review import told_snapshot

log = logging.getLogger(__name__)

# What a source's changes of the period come to: one record, nothing (None), or the changes
# as they are (KEEP).
KEEP = "keep"
Net = ChangeRecord | None | str


async def net_changes(
    app: Telling,
    connection: AsyncConnection,
    records: Sequence[ChangeRecord],
    found: dict[tuple[int, ...], Net],
) -> list[ChangeRecord]:
    """`records` with each page's changes of the period as one net change, where it stood
    last; `found` keeps the net changes worked out already (readers share them)."""
    pages: defaultdict[str, list[ChangeRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "page":
            pages[record.source_id].append(record)
    nets: dict[int, Net] = {}  # last change of a page's period -> what it comes to
    gone: set[int] = set()  # changes told by a net change (or by none)
    for group in pages.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda record: record.id)
        key = tuple(record.id for record in group)
        if key not in found:
            found[key] = await _net(app, connection, group)
        if found[key] != KEEP:
            nets[group[-1].id] = found[key]
            gone.update(key)
    out: list[ChangeRecord] = []
    for record in records:
        if record.id not in gone:
            out.append(record)
        elif isinstance(net := nets.get(record.id), ChangeRecord):
            out.append(net)
    return out


async def _net(app: Telling, connection: AsyncConnection, group: list[ChangeRecord]) -> Net:
    first, last = group[0], group[-1]
    base = await told_snapshot(connection, first.source_id, first.id)
    if base is None or last.snapshot_id is None:
        return KEEP
    old = await snapshot_document(connection, base)
    new = await snapshot_document(connection, last.snapshot_id)
    if old is None or new is None:
        return KEEP
    deadline = app.settings.checks.extract_timeout.total_seconds()
    try:
        change = await compare(app.extraction, deadline, old, new)
    except (CheckError, Unlike) as failure:
        log.warning("changes %s told one by one: %s", [r.id for r in group], failure)
        return KEEP
    if change is None:
        return None
    scored = significance(change, app.config.key_terms(last.country))
    notes = list(dict.fromkeys(r.review_note for r in group if r.review_note))
    return replace(
        last,
        change=change,
        kind=change.kind,
        summary=change.summary(),
        significance=scored.score,
        reasons=scored.reasons,
        review_note=" · ".join(notes) or None,
        merged=tuple(record.id for record in group),
        since=first.detected_at,
    )
