"""An editor's decision, done right: what readers are told of a reviewed source is the
difference between what they were last told and what is approved now.

A change is found against the version before it (`check/pipeline.py`; a discarded change's
version is skipped, `store/changes.py: latest_snapshot`). Where that version was never told
(a change discarded, or one still waiting), the change is compared again here with the
version readers were last told of, in the extraction pool as every comparison is:

- **Discard B**: its news is dropped, and every later change of the source still waiting is
  told again from what readers last heard, so the editor reviews exactly what would be sent
  and B's text never appears, not even struck through. A later change with nothing left to
  tell (it only took B back) is discarded with it, saying so.
- **Approve C**: C is told from what readers last heard, covering the changes of the source
  still waiting before it (superseded: their news is dropped, C carries it). With nothing
  left to tell, C is discarded, saying so.

When discarded text stays on the site, the next change approved tells it as part of the
page: readers are told what the page says now against what they last heard, and the editor
sees it in that change before approving it.

All of this is for pages. A feed's change is news items, each told or dropped on its own:
discarding one drops its entries for good (the feed's next change is found against the
version that had them, so they are not news again), and approving one tells its entries,
not those of the changes still waiting before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.diff import Change
from watcher.diff.compared import compare
from watcher.errors import CheckError
from watcher.extract import Document
from watcher.extract.bounded import BoundedPool
from watcher.store import read_transaction, write_transaction
from watcher.store.changes import get_change, snapshot_document
from watcher.store.review import (
    APPROVED,
    WAITING,
    readers_of,
    retell,
    reviewed,
    told_snapshot,
    waiting_of,
)
from watcher.store.review import decide as record_decision

log = logging.getLogger("watcher.review")


@dataclass(frozen=True, slots=True)
class Decision:
    """What an editor's decision did, in the words every desk shows (web, API, CLI)."""

    change_id: int
    state: str  # "approved" or "discarded"
    readers: int  # told of it, or never to be
    note: str | None

    def words(self) -> str:
        readers = f"{self.readers} reader{'' if self.readers == 1 else 's'}"
        if self.state == "approved":
            return f"Change #{self.change_id} approved: {readers} will be told."
        why = f" Reason: {self.note}" if self.note else ""
        return f"Change #{self.change_id} discarded: {readers} will not be told of it.{why}"


async def decision_of(engine: AsyncEngine, change_id: int) -> Decision | None:
    """The decision taken on a change; None while it waits, or for a change never reviewed."""
    async with read_transaction(engine) as connection:
        record = await get_change(connection, change_id)
        if record is None or record.review not in ("approved", "discarded"):
            return None
        readers = await readers_of(connection, change_id)
    return Decision(change_id, record.review, readers, record.review_note)


async def decide(
    engine: AsyncEngine,
    pool: BoundedPool,
    change_id: int,
    *,
    approve: bool,
    editor: str,
    note: str | None,
    now: datetime,
    deadline: float,
    terms: Callable[[str], Sequence[str]],
) -> Decision | None:
    """Approve or discard a waiting change, as the module says; what was done, or None when
    it is not waiting (decided already, or unknown). Comparisons run in `pool`, each within
    `deadline` seconds (`checks.extract_timeout`); a change told anew is scored with its
    country's key `terms`."""
    async with read_transaction(engine) as connection:
        target = await reviewed(connection, change_id)
        if target is None or target.review != WAITING:
            return None
        source = target.source_id
        plan, earlier = [], []
        if target.kind == "page":
            plan = [target] if approve else await waiting_of(connection, source, after=change_id)
            earlier = await waiting_of(connection, source, before=change_id) if approve else []
        versions: list[tuple[int, Document, Document]] = []
        for later in plan:
            base = await told_snapshot(connection, source, later.id)
            if base is None or later.snapshot_id is None:
                continue  # what readers heard is no longer kept: the change stands as found
            old = await snapshot_document(connection, base)
            new = await snapshot_document(connection, later.snapshot_id)
            if old is not None and new is not None and old.kind == new.kind:
                versions.append((later.id, old, new))
    # As readers should hear each change; None: nothing left to tell.
    told: dict[int, Change | None] = {}
    for told_id, old, new in versions:
        try:
            told[told_id] = await compare(pool, deadline, old, new)
        except CheckError as failure:  # past the bounds: the change stands as found
            log.warning("change %s: not compared again (%s)", told_id, failure.reason)
    async with write_transaction(engine) as connection:
        nothing = approve and change_id in told and told[change_id] is None
        if nothing:
            note = "nothing left to tell: the page is as readers were last told"
        if not await record_decision(
            connection,
            change_id,
            approve=approve and not nothing,
            editor=editor,
            note=note,
            now=now,
        ):
            return None
        for told_id, change in told.items():
            if change is not None:
                review = APPROVED if told_id == change_id and approve else WAITING
                await retell(
                    connection, told_id, change, terms=terms(target.country), review=review
                )
            elif told_id != change_id:  # it only took the discarded change back
                await record_decision(
                    connection,
                    told_id,
                    approve=False,
                    editor=editor,
                    note=f"nothing left to tell once #{change_id} was discarded",
                    now=now,
                )
        for superseded in earlier:
            await record_decision(
                connection,
                superseded.id,
                approve=False,
                editor=editor,
                note=f"superseded by #{change_id}"
                + (": the page is as readers were last told" if nothing else ", which tells it"),
                now=now,
            )
    return await decision_of(engine, change_id)
