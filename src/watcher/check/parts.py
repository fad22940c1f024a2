"""What a pass of checks uses of the running program, and nothing more: the configuration,
the database, the time, the HTTP clients, the extraction workers, the slots that bound a
pass, the numbers it keeps. `watcher.app.App` is one; a test may hand in another."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.config import Config, Settings
from watcher.extract.bounded import BoundedPool
from watcher.fetch import Fetcher
from watcher.fetch.browser import BrowserFetcher
from watcher.metrics import Metrics


class Checking(Protocol):
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
        """This process's name in claims: its writes are fenced by them."""
        ...

    @property
    def rng(self) -> random.Random: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def extraction(self) -> BoundedPool:
        """Where reading and comparing run, bounded in time and memory."""
        ...

    @property
    def fetcher(self) -> Fetcher: ...
    @property
    def browser(self) -> BrowserFetcher: ...
    @property
    def fetch_slots(self) -> asyncio.Semaphore: ...
    @property
    def check_slots(self) -> asyncio.Semaphore: ...
