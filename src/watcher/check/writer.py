"""Check results, committed in groups (`store/batch.py`): each check waits until its own
result is committed, and the results that arrive meanwhile share the transaction.

With a few dozen checks in flight a pass commits a few dozen times instead of once per
source. Nothing is reported before it is committed; a failed commit is a `StoreError` for
every check waiting on it, and ends the pass.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from watcher.config.sources import Source
from watcher.diff import Change, PageChange
from watcher.diff.significance import significance
from watcher.errors import LostClaim
from watcher.extract import Document
from watcher.extract.document import PageDocument, top_sections
from watcher.store.batch import GroupCommit
from watcher.store.changes import NewChange, add_changes, add_snapshots
from watcher.store.claims import held
from watcher.store.follows import follow_renames
from watcher.store.news import News, queue_notifications
from watcher.store.schema import sources


@dataclass
class Result:
    """What one check writes: the source's new state (an operator's alert due is part of it),
    perhaps a snapshot and a change."""

    source: Source
    state: dict[str, Any]
    snapshot: Document | None = None
    change: Change | None = None


# Seconds a commit waits after a first result for others to join it: results of big pages
# come a few milliseconds apart, and one commit each cost the event loop more than the
# checks did (a pass over 400 pages of 200 KB made 178 commits). It waits for as many as
# `enough` (`checks.concurrency`) at most: the checks waiting hold their slots (twice that).
LINGER = 0.05


class Writer:
    """Commits the results of one pass, as `worker` (whose claims fence the writes): the
    snapshots (keeping `keep_snapshots` a source), the changes (held for an editor where
    `reviewed(country)`), the notifications, and the sources' new states."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        worker: str,
        clock: Callable[[], datetime],
        keep_snapshots: int,
        reviewed: Callable[[str], bool],
        terms: Callable[[str], tuple[str, ...]],
        notable: Callable[[], float],
        enough: int,
    ) -> None:
        self.worker = worker
        self.clock = clock
        self.keep_snapshots = keep_snapshots
        self.reviewed = reviewed
        self.terms = terms
        self.notable = notable
        self.group: GroupCommit[Result, int | LostClaim | None] = GroupCommit(
            engine, self._commit, name="watcher-writer", linger=LINGER, enough=enough
        )

    async def __aenter__(self) -> Writer:
        await self.group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.group.__aexit__(*exc_info)

    async def save(self, result: Result) -> int | None:
        """Commit the result (with others); the id of the change recorded, if any. Raises
        `LostClaim` when another worker holds the source now: nothing was written."""
        saved = await self.group.submit(result)
        if isinstance(saved, LostClaim):
            raise saved
        return saved

    async def _commit(
        self, connection: AsyncConnection, batch: list[Result]
    ) -> list[int | LostClaim | None]:
        """Fenced: only the results of sources this worker still holds are written (a check
        that outlasted its lease must not overwrite the one that took the source over)."""
        ours = await held(connection, sources, [result.source.id for result in batch], self.worker)
        kept = [result for result in batch if result.source.id in ours]
        changes = iter(await self._record(connection, kept))
        await _save_states(connection, kept)
        return [next(changes) if r.source.id in ours else LostClaim() for r in batch]

    async def _record(self, connection: AsyncConnection, batch: list[Result]) -> list[int | None]:
        """The snapshots, changes and notifications of a batch; each result's change
        id. A few statements for the whole batch, not a few per result."""
        now = self.clock()
        change_ids: list[int | None] = [None] * len(batch)
        taken = [
            (index, result, result.snapshot)
            for index, result in enumerate(batch)
            if result.snapshot is not None
        ]
        if taken:
            keep = self.keep_snapshots
            documents = [(result.source.id, snapshot) for _, result, snapshot in taken]
            snapshot_ids = await add_snapshots(connection, documents, now, keep)
            reviewed = self.reviewed
            changed = [
                (
                    index,
                    NewChange(
                        result.source.id,
                        result.source.country,
                        change,
                        snapshot_id,
                        held=reviewed(result.source.country),
                        scored=significance(change, self.terms(result.source.country)),
                    ),
                )
                for (index, result, _), snapshot_id in zip(taken, snapshot_ids, strict=True)
                if (change := result.change) is not None
            ]
            if changed:
                for _, new in changed:  # before the news is queued: followers keep up
                    if isinstance(new.change, PageChange) and new.change.renamed:
                        await follow_renames(connection, new.country, new.change.renamed)
                ids = await add_changes(connection, [new for _, new in changed], now)
                for (index, _), change_id in zip(changed, ids, strict=True):
                    change_ids[index] = change_id
                news = [
                    News(id_, new.country, new.change, new.held, _score(new))
                    for (_, new), id_ in zip(changed, ids, strict=True)
                ]
                await queue_notifications(connection, news, now=now, notable=self.notable())
            for _, result, snapshot in taken:  # the sections readers can choose from
                if isinstance(snapshot, PageDocument):
                    result.state["sections"] = json.dumps(top_sections(snapshot))
        return change_ids


async def _save_states(connection: AsyncConnection, batch: list[Result]) -> None:
    """The new states, one statement per set of columns (and the claims given back)."""
    groups: defaultdict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for result in batch:
        values = {**result.state, "claimed_by": None, "claimed_until": None}
        row = {f"new_{column}": value for column, value in values.items()}
        groups[tuple(sorted(values))].append({"source_key": result.source.id, **row})
    for columns, rows in groups.items():
        statement = (
            update(sources)
            .where(sources.c.id == bindparam("source_key"))
            .values({column: bindparam(f"new_{column}") for column in columns})
        )
        await connection.execute(statement, rows)


def _score(new: NewChange) -> float:
    return new.scored.score if new.scored is not None else 0.0
