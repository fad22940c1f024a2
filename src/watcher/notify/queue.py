"""From notifications to queued messages: "immediate" ones after every pass, digests once
their period has closed. Each batch is composed and queued in one short transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timedelta
from operator import attrgetter

from watcher.notify.alerts import compose_alerts
from watcher.notify.channels import by_kind, kind_of
from watcher.notify.digest import period_end, period_key
from watcher.notify.net import Net, net_changes
from watcher.notify.parts import Telling
from watcher.store import write_transaction
from watcher.store.changes import ChangeRecord, get_changes
from watcher.store.db import analyze_if_grown
from watcher.store.notifications import (
    Pending,
    add_message,
    add_messages,
    drop_notifications,
    mark_composed,
    message_row,
    pending_notifications,
    subscribers_with_pending,
)
from watcher.store.schema import messages
from watcher.store.subscribers import Subscriber, subscribers_by_ids

BATCH = 50  # subscribers composed per transaction


async def compose_pending(
    app: Telling, now: datetime | None = None, *, settle: timedelta | None = None
) -> int:
    """Queue every message that is due now; return how many were queued.

    An "immediate" email about a country waits until no news of it arrived for `settle`
    (default `mail.settle`): a profile and a feed updated together make one email, even
    when the service checked them a few seconds apart. `watcher check` passes 0, as its
    pass is over when it composes.
    """
    now = now or app.clock()
    settle = app.settings.mail.settle if settle is None else settle
    queued = await compose_alerts(app.engine, app.config, lambda: app.composer, now)
    queued += await _immediate(app, now, settle)
    for frequency in ("daily", "weekly"):
        queued += await _digests(app, frequency, now)
    async with write_transaction(app.engine) as connection:  # a fan-out to thousands
        await analyze_if_grown(connection, messages, queued)
    return queued


async def _immediate(app: Telling, now: datetime, settle: timedelta) -> int:
    """One message per subscriber and country, grouping all of that country's changes."""
    queued = 0
    after: int | None = 0  # where the next batch starts; None: no news beyond
    with ExitStack() as stack:
        kept = False

        def keep_renderings() -> None:  # one rendering for many batches of readers
            nonlocal kept
            if not kept:
                stack.enter_context(app.composer.keeping_renderings())
                kept = True

        while after is not None:
            batch_queued, after = await _immediate_batch(app, now, settle, after, keep_renderings)
            queued += batch_queued
    return queued


async def _immediate_batch(
    app: Telling, now: datetime, settle: timedelta, after: int, keep_renderings: Callable[[], None]
) -> tuple[int, int | None]:
    """One batch of `_immediate`'s readers, and where the next starts. The composer (its
    templates) is loaded only once someone has news: a pass that changed nothing, the
    common one, ends without it."""
    async with write_transaction(app.engine) as connection:
        settled_before = now - settle if settle else None
        batch = await subscribers_with_pending(
            connection,
            frequencies=["immediate"],
            settled_before=settled_before,
            after=after,
            limit=BATCH,
        )
        if not batch.ids:
            return 0, batch.after
        ids = batch.ids
        pending = await pending_notifications(
            connection, ids, frequencies=["immediate"], settled_before=settled_before
        )
        people = await subscribers_by_ids(connection, ids)
        records = {r.id: r for r in await get_changes(connection, [p.change_id for p in pending])}
        mine: dict[tuple[int, str], list[Pending]] = defaultdict(list)
        for item in pending:
            mine[(item.subscriber_id, item.country)].append(item)
        # Readers who are to hear of the very same part of the same changes (whole, or
        # the same sections and keywords) get one rendering between them.
        same: dict[tuple[str, tuple[int, ...], object], list[int]] = defaultdict(list)
        for (subscriber_id, country), items in mine.items():
            interest = people[subscriber_id].interest.key(country)
            same[(country, tuple(item.change_id for item in items), interest)].append(subscriber_id)
        keep_renderings()
        rows, covered, nothing = [], [], []
        for (country, change_ids, _), readers in same.items():
            changes = narrowed(people[readers[0]], [records[c] for c in change_ids])
            if not changes:  # their choices changed since: none of it is theirs now
                nothing += [n.id for r in readers for n in mine[(r, country)]]
                continue
            for kind, group in by_kind(app, [people[r] for r in readers], attrgetter("address")):
                composed = kind.change_messages(group, country, changes, now, app)
                for reader, message in zip(group, composed, strict=True):
                    rows.append(message_row("change", reader.id, message, now))
                    covered.append([item.id for item in mine[(reader.id, country)]])
        ids = await add_messages(connection, rows)
        await mark_composed(
            connection, [(n, m) for m, group in zip(ids, covered, strict=True) for n in group]
        )
        await drop_notifications(connection, nothing)
        return len(ids), batch.after


async def _digests(app: Telling, frequency: str, now: datetime) -> int:
    """The digest of the period that closed last, for everyone who has something in it.

    The (subscriber, period) pair is unique in the outbox, so a restart, or a second worker,
    never composes the same period twice; each batch of subscribers is locked while it is
    composed, so two workers never split one subscriber's news.
    """
    mail = app.settings.mail
    end = period_end(
        now,
        frequency,
        zone=app.settings.service.timezone,
        hour=mail.digest_hour,
        weekday=mail.digest_weekday,
    )
    key = period_key(frequency, end)
    queued = 0
    after: int | None = 0  # where the next batch starts; None: no news beyond
    while after is not None:
        async with write_transaction(app.engine) as connection:
            batch = await subscribers_with_pending(
                connection,
                frequencies=[frequency],
                before=end,
                without_period=key,
                after=after,
                limit=BATCH,
            )
            ids, after = batch.ids, batch.after
            if not ids:
                continue
            pending = await pending_notifications(
                connection, ids, frequencies=[frequency], before=end
            )
            people = await subscribers_by_ids(connection, ids)
            records = {
                r.id: r for r in await get_changes(connection, [p.change_id for p in pending])
            }
            nets: dict[tuple[int, ...], Net] = {}  # each page's net change, once for all
            for subscriber_id in ids:
                mine = [item for item in pending if item.subscriber_id == subscriber_id]
                if not mine:  # a digest is only ever queued with the news it carries
                    continue
                reader = people[subscriber_id]
                period = [records[item.change_id] for item in mine]
                changes = narrowed(reader, await net_changes(app, connection, period, nets))
                if not changes:  # nothing left to tell: choices changed, or pages came back
                    await drop_notifications(connection, [item.id for item in mine])
                    continue
                composed = kind_of(app, reader.address).digest_message(
                    reader, changes, now, end, app
                )
                message_id = await add_message(
                    connection,
                    composed,
                    kind="digest",
                    subscriber_id=subscriber_id,
                    now=now,
                    period=key,
                )
                if message_id is not None:
                    await mark_composed(connection, [(item.id, message_id) for item in mine])
                    queued += 1
    return queued


def narrowed(reader: Subscriber, records: list[ChangeRecord]) -> list[ChangeRecord]:
    """The records as this reader is to hear of them: only the sections and the lines their
    choices select (`diff/interest.py`); those with nothing left are left out."""
    interest = reader.interest
    if not interest.narrowed:
        return records
    found = []
    for record in records:
        change = interest.narrow(record.country, record.change)
        if change is not None:
            found.append(record if change is record.change else replace(record, change=change))
    return found
