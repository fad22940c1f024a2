"""When a source is next due: its interval or cron after a success, a backoff after a failure."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from watcher.backoff import retry_delay
from watcher.config.sources import Source

DEFAULT_INTERVAL = timedelta(hours=6)


@lru_cache(maxsize=1024)
def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))


def next_check_time(
    source: Source, now: datetime, *, jitter: timedelta, timezone: str, rng: random.Random
) -> datetime:
    """The next regular check: cron's next fire time, or the interval plus a little jitter.

    The jitter (at most a tenth of the interval) keeps sources that share an interval from
    all falling due in the same second.
    """
    if source.cron:
        fire = cron_trigger(source.cron, timezone).get_next_fire_time(None, now)
        if fire is not None:
            return fire.astimezone(UTC)
    interval = source.interval or DEFAULT_INTERVAL
    spread = min(jitter.total_seconds(), interval.total_seconds() / 10)
    return now + interval + timedelta(seconds=rng.uniform(0, spread))


def retry_time(
    source: Source,
    failures: int,
    now: datetime,
    *,
    base: timedelta,
    retry_after: float | None,
    rng: random.Random,
) -> datetime:
    """The one backoff (`watcher/backoff.py`) from `checks.retry`, never beyond the regular
    interval, never before the server's `Retry-After`."""
    cap = max(source.interval or DEFAULT_INTERVAL, base)
    return now + retry_delay(base, failures, cap, rng=rng, retry_after=retry_after)
