"""The service's clock: when to check which source, and when to drain the outbox.

The schedule is the `sources` table: each row's due time (interval plus jitter, cron, or a
failure's backoff) is kept by the pipeline, so a restart neither checks everything at once
nor forgets what was due, and several workers on one PostgreSQL database share one schedule.
Each worker runs one loop: claim at most a batch of due sources, longest overdue first
(rows another worker is claiming are skipped), check them, write back; the next batch is
claimed as soon as the fetch slots would otherwise go idle, not when the slowest page of
the last one has answered; with nothing due,
sleep until the next due time (read off an index) or until woken: by one of our own checks
ending (its source's new due time may come before the sleep would end), a reload, a check
asked through the API, or, on PostgreSQL, another worker's NOTIFY that due times moved.

APScheduler drives the outbox drain, the digest hours and the daily pruning
(`[retention]`); it holds no job per source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App, refresh_desk
from watcher.check import run_pass
from watcher.errors import StoreError
from watcher.notify.delivery import deliver
from watcher.notify.editors import remind_editors
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.clock import DatabaseClock
from watcher.store.db import listening
from watcher.store.messages import outbox_counts
from watcher.store.retention import prune
from watcher.store.sources import next_due, source_counts

log = logging.getLogger("watcher.scheduler")

DRAIN_EVERY = timedelta(seconds=5)
BATCH_PER_SLOT = 4  # a worker claims at most this many due sources per `checks.concurrency`
IDLE_MAX = 30.0  # seconds: look at the table at least this often, whatever was said
IDLE_MIN = 0.2  # seconds: due, yet nothing to claim (another worker is claiming it right now)
TROUBLE_PAUSE = 2.0  # seconds after a pass the database refused
LIVE_STATUSES = ("queued", "failed", "cancelled")  # counted at every drain
SENT_COUNT_EVERY = timedelta(minutes=1)  # and the sources


class Scheduler:
    def __init__(self, app: App, *, drain_every: timedelta = DRAIN_EVERY) -> None:
        self.app = app
        self.drain_every = drain_every
        self.aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.woken = asyncio.Event()
        self.checker: asyncio.Task[None] | None = None
        self.batches: set[asyncio.Task[None]] = set()  # the batches being checked
        self.in_flight = 0  # checks claimed by those batches and not finished yet
        self.room = asyncio.Event()  # set when a check ends: room for another batch?
        self.draining = asyncio.Lock()
        self.heartbeat: datetime | None = None
        self.stopping = False
        self.quit_delivery = asyncio.Event()  # a delivery in progress sends no new message
        self.drainer: asyncio.Task[object] | None = None
        self.drains: set[asyncio.Task[None]] = set()
        self.exits = contextlib.AsyncExitStack()
        self.sent_counted: datetime | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.aps.start()
        self.aps.add_job(
            self._drain_job,
            IntervalTrigger(seconds=self.drain_every.total_seconds()),
            id="outbox",
            next_run_time=datetime.now(UTC),
        )
        if isinstance(self.app.clock, DatabaseClock):
            self.aps.add_job(self._sync_clock, IntervalTrigger(seconds=60), id="clock")
        self._schedule_digests()
        await self.exits.enter_async_context(listening(self.app.engine, self.wake))
        self.checker = asyncio.create_task(self._checks(), name="watcher-checks")

    async def stop(self, grace: float = 5.0) -> None:
        """No new checks; the batches under way get `grace` seconds, then are abandoned (each
        check's writes are one transaction, so none is left half-written). A delivery in
        progress finishes and records the message each connection is sending, sends no new
        one, and gives the rest back: queued mail stays queued, none is sent twice."""
        self.stopping = True
        self.quit_delivery.set()
        self.woken.set()
        self.room.set()
        self.aps.shutdown(wait=False)
        if self.checker is not None:
            self.checker.cancel()
            await asyncio.gather(self.checker, return_exceptions=True)
        if self.batches:
            _, pending = await asyncio.wait(list(self.batches), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        drainer = self.drainer
        if drainer is not None and not drainer.done():
            # A message in flight ends within the SMTP timeout, whatever the server does.
            limit = self.app.settings.mail.timeout.total_seconds() + grace
            _, late = await asyncio.wait([drainer], timeout=limit)
            if late:
                log.warning("delivery did not stop within %.0f s; abandoning it", limit)
                drainer.cancel()
                await asyncio.gather(drainer, return_exceptions=True)
        await self.exits.aclose()

    @property
    def alive(self) -> bool:
        if not self.aps.running or self.heartbeat is None:
            return False
        return datetime.now(UTC) - self.heartbeat < 3 * self.drain_every + timedelta(seconds=30)

    async def _sync_clock(self) -> None:
        assert isinstance(self.app.clock, DatabaseClock)
        try:
            await self.app.clock.sync(self.app.engine)
        except StoreError as exc:
            log.warning("cannot read the database's clock: %s", exc)

    def wake(self) -> None:
        """Look for due sources now: due times moved (a reload, a check asked for)."""
        self.woken.set()

    # -- checks --------------------------------------------------------------------------

    async def _checks(self) -> None:
        """The worker's loop: claim a batch of due sources and check it; claim the next one
        as soon as fewer than `checks.concurrency` of our checks are left in flight, so a
        slow page at the end of a batch never leaves the fetch slots idle. With none due,
        sleep until the next due time or a wake-up."""
        concurrency = self.app.settings.checks.concurrency
        while not self.stopping:
            self.woken.clear()
            if await self._start_batch():
                while self.in_flight >= concurrency and not self.stopping:
                    self.room.clear()
                    await self.room.wait()
                continue  # a batch was due: more may be
            # Nothing due now: sleep until the next due time or a wake-up. The sources of
            # our batches under way have no due time yet; each check that ends wakes us.
            delay = await self._idle_seconds()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.woken.wait()

    async def _start_batch(self) -> int:
        """Claim at most a batch of due sources and start checking them; how many."""
        claimed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._batch(claimed), name="watcher-pass")
        self.batches.add(task)
        task.add_done_callback(self.batches.discard)
        waited: list[asyncio.Future[Any]] = [claimed, task]
        await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        return claimed.result() if claimed.done() else 0

    async def _batch(self, claimed: asyncio.Future[int]) -> None:
        """Check one batch; `claimed` gets its size once its sources are claimed."""
        checks = self.app.settings.checks
        left = 0

        def started(count: int) -> None:
            nonlocal left
            left = count
            self.in_flight += count
            claimed.set_result(count)

        def finished(_: object) -> None:
            nonlocal left
            left -= 1
            self.in_flight -= 1
            self.room.set()
            self.woken.set()  # its source has a new due time, perhaps before our sleep ends

        try:
            # A source added, edited or paused on the desk, perhaps by another worker: known
            # before it is claimed (one small query when nothing changed).
            await refresh_desk(self.app)
            result = await run_pass(
                self.app,
                limit=BATCH_PER_SLOT * checks.concurrency,
                siblings_within=max(checks.jitter * 2, timedelta(minutes=1)),
                on_start=started,
                on_outcome=finished,
            )
        except StoreError as exc:
            log.error("a pass stopped: %s; tried again shortly", exc)
            await asyncio.sleep(TROUBLE_PAUSE)
            return
        except Exception:
            log.exception("a pass failed; tried again shortly")
            await asyncio.sleep(TROUBLE_PAUSE)
            return
        finally:
            self.in_flight -= left  # what a failed or cancelled batch never finished
            self.room.set()
        if result.outcomes:
            counts = result.counts
            log.info(
                "pass: %d checked, %d changed, %d failed",
                len(result.outcomes),
                counts["changed"],
                counts["failed"],
                extra={
                    "checked": len(result.outcomes),
                    "changed": counts["changed"],
                    "failed": counts["failed"],
                    "duration": round(result.seconds, 3),
                },
            )
            if counts["changed"] or counts["failed"]:
                self._drain_soon()  # news, or an operator's alert, to deliver

    async def _idle_seconds(self) -> float:
        """Until the next due time (or the next lease to expire on an overdue source)."""
        try:
            async with read_transaction(self.app.engine) as connection:
                due = await next_due(connection, self.app.clock())
        except StoreError as exc:
            log.error("cannot read the schedule: %s; tried again shortly", exc)
            return TROUBLE_PAUSE
        if due is None:
            return IDLE_MAX
        return min(max((due - self.app.clock()).total_seconds(), IDLE_MIN), IDLE_MAX)

    # -- mail ----------------------------------------------------------------------------

    async def _drain_job(self) -> None:
        """APScheduler's job: start a drain as a task of our own and return. APScheduler
        cancels the jobs still running when it shuts down, and a delivery cancelled mid-send
        repeats the message; `stop` lets a drain end cleanly instead."""
        self._drain_soon()

    def _drain_soon(self) -> None:
        if self.stopping or self.draining.locked():
            return
        task = asyncio.create_task(self.drain(), name="watcher-drain")
        self.drains.add(task)
        task.add_done_callback(self.drains.discard)

    async def drain(self) -> None:
        """Queue what is due (reminders of changes waiting for review, immediate mail,
        closed digests), then deliver the outbox."""
        self.heartbeat = datetime.now(UTC)
        if self.draining.locked() or self.quit_delivery.is_set():
            return
        async with self.draining:
            self.drainer = asyncio.current_task()
            try:
                await self._remind()
                await compose_pending(self.app)
                await deliver(self.app, stop=self.quit_delivery)
                await self._update_gauges()
            except StoreError as exc:  # no bug to trace: the database said no
                log.error("draining the outbox stopped: %s; it is tried again shortly", exc)
            except Exception:
                log.exception("draining the outbox failed; it is tried again shortly")
            finally:
                self.drainer = None

    async def _remind(self) -> None:
        """Remind the editors of changes waiting too long; an error of its own: whatever
        happens here, the readers' mail is composed and delivered."""
        try:
            app = self.app
            await remind_editors(
                app.engine,
                app.composer,
                now=app.clock(),
                remind_after=app.settings.review.remind_after,
            )
        except StoreError as exc:
            log.error("reminding the editors stopped: %s; tried again at the next drain", exc)
        except Exception:
            log.exception("reminding the editors failed; tried again at the next drain")

    async def _prune_job(self) -> None:
        """Once a day: drop what `[retention]` says is old enough (`store/retention.py`)."""
        retention = self.app.settings.retention
        try:
            pruned = await prune(
                self.app.engine,
                now=self.app.clock(),
                message_bodies=retention.message_bodies,
                changes_after=retention.changes,
            )
        except StoreError as exc:
            log.error("pruning stopped: %s; it is tried again tomorrow", exc)
        except Exception:
            log.exception("pruning failed; it is tried again tomorrow")
        else:
            log.info("pruned: %s", pruned)

    def _schedule_digests(self) -> None:
        mail = self.app.settings.mail
        zone = ZoneInfo(self.app.settings.service.timezone)
        self.aps.add_job(
            self._prune_job,
            CronTrigger(hour=self.app.settings.retention.hour, minute=17, timezone=zone),
            id="retention",
            replace_existing=True,
        )
        minute = {"hour": mail.digest_hour, "minute": 0, "second": 5, "timezone": zone}
        self.aps.add_job(
            self._drain_job, CronTrigger(**minute), id="digest-daily", replace_existing=True
        )
        self.aps.add_job(
            self._drain_job,
            CronTrigger(day_of_week=mail.digest_weekday[:3], **minute),
            id="digest-weekly",
            replace_existing=True,
        )

    async def _update_gauges(self) -> None:
        """At each drain, what is waiting or went wrong in the outbox (a few rows, counted
        off the status index); once a minute what was sent, the bulk of a never-pruned
        outbox, and the sources (a count over every source: 100,000 of them every drain
        kept an idle worker over 1% of a core)."""
        now = datetime.now(UTC)
        every = self.sent_counted is None or now - self.sent_counted >= SENT_COUNT_EVERY
        async with read_transaction(self.app.engine) as connection:
            counts = await outbox_counts(connection, None if every else LIVE_STATUSES)
            sources = await source_counts(connection) if every else None
        for status in LIVE_STATUSES:
            self.app.metrics.outbox.labels(status).set(counts.get(status, 0))
        if sources is not None:
            total, failing = sources
            self.app.metrics.outbox.labels("sent").set(counts.get("sent", 0))
            self.app.metrics.failing.set(failing)
            self.app.metrics.sources.set(total)
            self.sent_counted = now

    def reschedule_digests(self) -> None:
        self._schedule_digests()
