"""What every part that works on the database uses of the running program: the
configuration, the engine, the clock (the database's), its name in claims, its randomness
(jitter) and the numbers it keeps. `check/parts.py` and `notify/parts.py` add what each
needs besides; `watcher.app.App` is all of them."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.config import Config, Settings
from watcher.metrics import Metrics


class Running(Protocol):
    @property
    def config(self) -> Config: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def worker(self) -> str:
        """This process's name in claims: what it writes is fenced by them."""
        ...

    @property
    def rng(self) -> random.Random: ...
    @property
    def metrics(self) -> Metrics: ...
