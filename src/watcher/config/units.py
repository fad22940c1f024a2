"""Human-written units in the configuration: durations (`90s`, `6h`) and sizes (`5MB`)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: str | int | float | timedelta, *, allow_zero: bool = False) -> timedelta:
    """`90s`, `15m`, `6h`, `7d`, `1h30m`, or a plain number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '90s', '15m', '6h' or '7d'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        if not text or _DURATION_PART.sub("", text) != "":
            raise ValueError(
                f"{value!r} is not a duration; write it like '90s', '15m', '6h' or '7d'"
            )
        seconds = sum(
            float(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_PART.findall(text)
        )
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{value!r}: a duration must be greater than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of a duration: 21600s -> '6h'."""
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def format_megabytes(size: int) -> str:
    """A number of bytes as a person reads a memory bound: 512000000 -> '512 MB'."""
    return f"{size / 1_000_000:g} MB"


def parse_size(value: str | int) -> int:
    """`5MB`, `512KiB`, `2000000` -> a number of bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '5MB'")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a size; write it like '500KB' or '5MB'")
        number, unit = match.groups()
        size = int(float(number) * _SIZE_UNITS[(unit or "b").lower()])
    if size <= 0:
        raise ValueError(f"{value!r}: a size must be greater than zero")
    return size
