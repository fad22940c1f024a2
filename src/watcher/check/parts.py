"""What a pass of checks uses of the running program, and nothing more: what every part
on the database uses (`store/running.py`), and the HTTP clients, the extraction workers and
the slots that bound a pass. `watcher.app.App` is one; a test may hand in another."""

from __future__ import annotations

import asyncio
from typing import Protocol

from watcher.extract.bounded import BoundedPool
from watcher.fetch import Fetcher
from watcher.fetch.browser import BrowserFetcher
from watcher.store.running import Running


class Checking(Running, Protocol):
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
