"""Mail to editors: the invitation that sets a password, and reminders of changes that
have waited for review longer than `review.remind_after`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.notify.compose import Composer
from watcher.notify.composed import Composed
from watcher.store import write_transaction
from watcher.store.changes import ChangeRecord
from watcher.store.editors import active_editors
from watcher.store.notifications import add_message
from watcher.store.review import mark_reminded, to_remind


def invitation(
    composer: Composer, recipient: str, link: str, lifetime: timedelta, now: datetime
) -> Composed:
    """The link that sets an editor's password, valid for `lifetime`."""
    text = composer.env.get_template("editor_invite.txt").render(
        list_name=composer.list_name,
        link=link,
        hours=int(lifetime.total_seconds() // 3600),
        links=composer.links,
    )
    subject = f"You are an editor of {composer.list_name}"
    return composer.plain_message(recipient, subject, text, now, kind="editors")


def reminder(
    composer: Composer, recipient: str, records: Sequence[ChangeRecord], now: datetime
) -> Composed:
    """The changes that have waited too long, with a link to each."""
    text = composer.env.get_template("review_reminder.txt").render(
        records=records,
        when=composer.when_text,
        country_name=composer.config.country_name,
        links=composer.links,
    )
    count = len(records)
    subject = f"{count} change{'s' if count != 1 else ''} waiting for review"
    return composer.plain_message(recipient, subject, text, now, kind="editors")


async def remind_editors(
    engine: AsyncEngine, composer: Composer, *, now: datetime, remind_after: timedelta
) -> int:
    """Queue a reminder to every active editor of the changes waiting longer than
    `remind_after` (`review.remind_after`), once per change; how many changes they were
    reminded of."""
    async with write_transaction(engine) as connection:
        late = await to_remind(connection, now - remind_after)
        if not late:
            return 0
        for editor in await active_editors(connection):
            composed = reminder(composer, editor.email, late, now)
            await add_message(connection, composed, kind="alert", subscriber_id=None, now=now)
        await mark_reminded(connection, [record.id for record in late], now)
    return len(late)
