"""Digest periods: a daily digest closes at `digest_hour`, a weekly one at that hour on
`digest_weekday`, both in the service's time zone (daylight saving time included)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def period_end(now: datetime, frequency: str, *, zone: str, hour: int, weekday: str) -> datetime:
    """The most recent moment at or before `now` when a period of `frequency` closed (UTC)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    day = local.date()
    if frequency == "weekly":
        day -= timedelta(days=(day.weekday() - WEEKDAYS.index(weekday)) % 7)
    closing = datetime.combine(day, time(hour), tz)
    if closing > local:
        closing = datetime.combine(
            day - timedelta(days=7 if frequency == "weekly" else 1), time(hour), tz
        )
    return closing.astimezone(UTC)


def period_key(frequency: str, end: datetime) -> str:
    return f"{frequency}:{end.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"
