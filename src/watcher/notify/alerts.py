"""The operator's alerts: a source that keeps failing, told by email.

The check marks a source `alert_due` in the commit that records its `checks.alert_after`-th
failure in a row (once per run of failures: a success clears `alerted_at` again). Composing
the outbox turns each marked source into one alert email to `service.operator_email` and
clears the mark, in one transaction: an alert is queued once, whichever worker composes.
A source that recovered before its alert was composed, or that left the configuration, is
not alerted about; an alert that cannot be composed (a bug) stays due and is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.config import Config
from watcher.notify.compose import Composer
from watcher.store import read_transaction, write_transaction
from watcher.store.notifications import add_message
from watcher.store.sources import alert_is_due, alerts_taken, due_alerts

log = logging.getLogger("watcher.notify")


async def compose_alerts(
    engine: AsyncEngine, config: Config, composer: Callable[[], Composer], now: datetime
) -> int:
    """Queue the alerts that are due; how many were queued. The composer is asked for only
    when one is due (it loads the templates)."""
    async with read_transaction(engine) as connection:
        if not await alert_is_due(connection):
            return 0
    queued = 0
    async with write_transaction(engine) as connection:
        due = await due_alerts(connection)
        if not due:
            return 0
        operator = config.settings.service.operator_email
        taken = []
        for state in due:
            source = config.source(state.id)
            if operator is None or source is None or state.status != "failing":
                taken.append(state.id)  # nobody to tell, or nothing to tell any more
                continue
            try:
                message = composer().alert_message(operator, source, state, now)
            except Exception:  # it stays due: the next composing tries again
                log.exception("the operator's alert about %s was not composed", state.id)
                continue
            await add_message(connection, message, kind="alert", subscriber_id=None, now=now)
            taken.append(state.id)
            queued += 1
        await alerts_taken(connection, taken)
    return queued
