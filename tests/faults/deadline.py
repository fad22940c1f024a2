"""A hang guard for the corpus tests: SIGALRM raises `Hung` in the reading that outlasts its
seconds (the main thread only, as pytest runs them)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hung(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hung


@contextmanager
def alarms() -> Iterator[None]:
    """SIGALRM handled as `Hung` while the block runs; each `within` then arms it."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def within(seconds: int) -> Iterator[None]:
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
