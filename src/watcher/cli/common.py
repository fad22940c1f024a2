"""What every command shares: loading the configuration, opening the app, argument types."""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from watcher.config.units import parse_duration
from watcher.errors import WatcherError

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.config import Config


class CommandError(WatcherError):
    """A command cannot do what was asked; printed as one line, exit status 2 by default."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def config_of(args: argparse.Namespace) -> Config:
    from watcher.loading import load_config

    return load_config(args.config)


@asynccontextmanager
async def app_of(args: argparse.Namespace) -> AsyncIterator[App]:
    from watcher.app import open_app

    async with open_app(config_of(args)) as app:
        yield app


def parse_since(value: str, timezone: str, now: datetime) -> datetime:
    """`2026-11-01`, `2026-11-01T08:00`, or a duration back from now such as `7d`."""
    if re.fullmatch(r"\d+(\.\d+)?\s*[a-z]+", value.strip()):
        try:
            return now - parse_duration(value)
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--since: {value!r} is not a date; use 2026-11-01, 2026-11-01T08:00 or 7d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    from watcher.store.schema import to_utc

    return to_utc(moment)


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def example(text: str) -> str:
    return f"example:\n  {text}"
