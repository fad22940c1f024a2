"""What telling readers uses of the running program, and nothing more. A channel composes
and delivers with the configuration and the email composer (`Composing`); the outbox also
uses the database, the time, its name in claims and the numbers it keeps (`Telling`).
`watcher.app.App` is both; a test may hand in another."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.config import Config, Settings
from watcher.metrics import Metrics

if TYPE_CHECKING:
    from watcher.notify.compose import Composer


class Composing(Protocol):
    @property
    def config(self) -> Config: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def composer(self) -> Composer:
        """The email composer (its templates loaded on first use)."""
        ...


class Telling(Composing, Protocol):
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def worker(self) -> str:
        """This process's name in claims: deliveries are fenced by them."""
        ...

    @property
    def rng(self) -> random.Random: ...
    @property
    def metrics(self) -> Metrics: ...
