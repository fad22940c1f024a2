"""Times for people (in the service's zone) and for machines (ISO 8601, UTC)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_time(moment: datetime | None, timezone: str, *, seconds: bool = False) -> str:
    if moment is None:
        return "-"
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.astimezone(ZoneInfo(timezone)).strftime(pattern)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def iso_for_json(value: object) -> str | None:
    """`json.dumps`'s `default`: a datetime as `iso` writes it; anything else it cannot."""
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
