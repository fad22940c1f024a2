"""What a failed check writes of its source: the reason, the count of failures in a row, when
to try again (the one backoff, `check/timing.py`), and, once enough failed in a row, that the
operator is to be told (once per run of failures: a success clears `alerted_at`; the alert
is queued with the failure and composed with the outbox, `notify/alerts.py`)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from watcher.check.timing import retry_time
from watcher.config.model import Settings
from watcher.config.sources import Source
from watcher.errors import CheckError
from watcher.store.sources import SourceState


def failed_state(
    source: Source,
    state: SourceState,
    failure: CheckError,
    *,
    now: datetime,
    settings: Settings,
    rng: random.Random,
) -> dict[str, Any]:
    failures = state.failures + 1
    written: dict[str, Any] = {
        "status": "failing",
        "failures": failures,
        "last_error": failure.reason,
        "failing_since": state.failing_since or now,
        "last_checked_at": now,
        "next_check_at": retry_time(
            source,
            failures,
            now,
            base=settings.checks.retry,
            retry_after=failure.retry_after,
            rng=rng,
        ),
    }
    operator = settings.service.operator_email
    if operator and failures >= settings.checks.alert_after and not state.alerted_at:
        written["alerted_at"] = now
        written["alert_due"] = True
    return written
