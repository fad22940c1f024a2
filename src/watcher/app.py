"""The running program's parts, opened once and passed down: config, database, HTTP, clock.

Nothing here is global: commands, the service and tests each open their own `App`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from watcher.extract.bounded import BoundedPool
    from watcher.notify.compose import Composer

from watcher import __version__
from watcher.config import Config, Settings
from watcher.fetch import Fetcher
from watcher.fetch.browser import BrowserFetcher
from watcher.loading import with_desk
from watcher.metrics import Metrics
from watcher.store import create_engine, migrate, read_transaction, write_transaction
from watcher.store.clock import DatabaseClock, local_now
from watcher.store.db import exclusive, notify_due
from watcher.store.desk import desk_revision, load_desk_sources
from watcher.store.sources import sync_sources
from watcher.store.subscribers import sync_config_subscribers

Clock = Callable[[], datetime]
log = logging.getLogger("watcher.desk")


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class App:
    config: Config
    engine: AsyncEngine
    clock: Clock = local_now
    transport: httpx.AsyncBaseTransport | None = None
    worker: str = field(default_factory=worker_name)
    rng: random.Random = field(default_factory=random.Random)
    metrics: Metrics = field(default_factory=Metrics)
    serving: bool = False  # the service (`watcher run`): web pages and a scheduler to keep up
    # The configuration as the file gives it (`config` adds the desk's sources to it), and
    # the desk's revision `config` was made from (`refresh_desk`).
    file_config: Config | None = None
    desk_seen: tuple[int, int] | None = None
    _fetcher: Fetcher | None = None
    _browser: BrowserFetcher | None = None
    _composer: Composer | None = None
    _extraction: BoundedPool | None = None
    _slots: tuple[asyncio.Semaphore, asyncio.Semaphore] | None = None
    _retired: list[Fetcher | BoundedPool] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def fetch_slots(self) -> asyncio.Semaphore:
        """At most `checks.concurrency` requests in flight, however many passes run at once."""
        return self._semaphores()[0]

    @property
    def check_slots(self) -> asyncio.Semaphore:
        """At most twice `checks.concurrency` checks under way (fetching, comparing, or
        waiting for their result to be committed): what a pass holds in memory is bounded."""
        return self._semaphores()[1]

    def _semaphores(self) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        if self._slots is None:
            concurrency = self.settings.checks.concurrency
            self._slots = (asyncio.Semaphore(concurrency), asyncio.Semaphore(2 * concurrency))
        return self._slots

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded configuration; parts built from the old one are made anew.

        A fetcher whose settings changed is replaced; checks still using the old one finish
        with it, and `close_retired` closes it later. The slots that bound the checks under
        way are kept unless `concurrency` changed: a reload (or a desk refresh, which comes
        before every batch) mid-pass must not let in as many checks again.
        """
        old = self.settings.checks
        self.config = config
        self._composer = None
        new = self.settings.checks
        if old.concurrency != new.concurrency:
            self._slots = None
        fetching = ("user_agent", "per_host", "max_redirects")
        if self._fetcher is not None and any(getattr(old, k) != getattr(new, k) for k in fetching):
            self._retired.append(self._fetcher)
            self._fetcher = None
        pool = ("extract_memory", "extract_workers")
        if self._extraction is not None and any(getattr(old, k) != getattr(new, k) for k in pool):
            self._retired.append(self._extraction)
            self._extraction = None

    async def close_retired(self) -> None:
        """Close fetchers and pools replaced by a reload (call once their checks are surely
        over)."""
        retired, self._retired = self._retired, []
        for part in retired:
            await part.aclose()

    @property
    def composer(self) -> Composer:
        """Email composition (templates loaded once), created on first use."""
        if self._composer is None:
            from watcher.notify.compose import Composer

            self._composer = Composer(self.config)
        return self._composer

    @property
    def user_agent(self) -> str:
        return self.settings.checks.user_agent or (
            f"watcher/{__version__} (change monitor; +{self.settings.service.public_url})"
        )

    @property
    def browser(self) -> BrowserFetcher:
        """Headless Chromium for `fetch = "browser"` sources, started on first use."""
        if self._browser is None:
            self._browser = BrowserFetcher(
                user_agent=self.user_agent,
                concurrency=self.settings.checks.browser_concurrency,
                memory=self.settings.checks.extract_memory,
            )
        return self._browser

    @property
    def extraction(self) -> BoundedPool:
        """Worker processes for extraction and comparison (`extract/bounded.py`), one a core,
        started on first use so that commands that check nothing start none."""
        if self._extraction is None:
            from watcher.extract.bounded import BoundedPool

            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
            workers = self.settings.checks.extract_workers or cores or os.cpu_count() or 1
            self._extraction = BoundedPool(
                workers=workers,
                memory=self.settings.checks.extract_memory,
                nice=self.extraction_nice,
            )
        return self._extraction

    @property
    def extraction_nice(self) -> int:
        """The extraction workers' niceness: below the service, so that its web pages and
        scheduler come first; level with a one-shot command, which has nothing to put first."""
        from watcher.extract.bounded import SERVICE_NICE

        return SERVICE_NICE if self.serving else 0

    @property
    def fetcher(self) -> Fetcher:
        """The shared HTTP client, created on first use so that read-only commands skip it."""
        if self._fetcher is None:
            checks = self.settings.checks
            self._fetcher = Fetcher(
                user_agent=self.user_agent,
                per_host=checks.per_host,
                max_redirects=checks.max_redirects,
                transport=self.transport,
            )
        return self._fetcher

    async def aclose(self) -> None:
        await self.close_retired()
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._browser is not None:
            await self._browser.aclose()
            self._browser = None
        if self._extraction is not None:
            await self._extraction.aclose()
            self._extraction = None


@asynccontextmanager
async def open_app(
    config: Config,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    serving: bool = False,
) -> AsyncIterator[App]:
    """Open the database (migrating it), bring sources and declared subscribers in line.

    Without a `clock` (tests give theirs), time is the database's (`DatabaseClock`): every
    worker on one PostgreSQL database agrees on it, whatever its own clock says.
    """
    engine = create_engine(config.settings.service.database)
    clock = clock or DatabaseClock()
    app = App(config=config, engine=engine, clock=clock, transport=transport, serving=serving)
    try:
        await migrate(engine)
        if isinstance(clock, DatabaseClock):
            await clock.sync(engine)
        await settle(app, config)
        yield app
    finally:
        await app.aclose()
        await engine.dispose()


async def settle(app: App, config: Config) -> None:
    """Take the file's configuration (at start, or reloaded): the desk's sources added to it
    (`loading.with_desk`), the sources table and the declared subscribers brought in line,
    and the workers told. A reload never removes a desk source."""
    async with write_transaction(app.engine) as connection:
        await exclusive(connection, "watcher:sync-config")
        now = app.clock()
        revision = await desk_revision(connection)
        merged, problems = with_desk(config, await load_desk_sources(connection))
        await sync_sources(connection, merged.sources, now, merged.paused)
        await sync_config_subscribers(connection, config.settings.subscribers, now)
        await notify_due(connection)  # sources it added are due: running workers hear it
    for problem in problems:
        log.error("%s", problem)
    app.file_config, app.desk_seen = config, revision
    app.reconfigure(merged)


async def refresh_desk(app: App, *, force: bool = False) -> bool:
    """Bring this worker's copy of the desk's sources up to date, if the desk changed since
    (another worker's page, the API, the command line): one small query when it did not.
    Whether it changed. The rows are written by whoever changed them (`watcher/desk/sources.py`)."""
    async with read_transaction(app.engine) as connection:
        revision = await desk_revision(connection)
        if revision == app.desk_seen and not force:
            return False
        desk = await load_desk_sources(connection)
    merged, problems = with_desk(app.file_config or app.config, desk)
    for problem in problems:
        log.error("%s", problem)
    app.desk_seen = revision
    app.reconfigure(merged)
    return True
