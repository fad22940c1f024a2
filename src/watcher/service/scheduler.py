"""APScheduler wiring for `watcher run`.

Each source has a job that fires at the due time stored in the database (the pipeline keeps
that time: interval plus jitter, cron, or a failure's backoff), so a restart neither checks
everything at once nor forgets what was due; sources overdue at start are spread out. Sources
that fall due together are checked in one pass. The outbox is drained every few seconds,
right after each pass, and when digests close; a periodic resync follows what other workers
on the same database did.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App
from watcher.check import run_pass
from watcher.errors import StoreError
from watcher.notify.mailer import deliver
from watcher.notify.outbox import compose_pending
from watcher.store import read_transaction
from watcher.store.outbox import outbox_counts
from watcher.store.sources import SourceState, load_states

log = logging.getLogger("watcher.scheduler")

DRAIN_EVERY = timedelta(seconds=5)
RESYNC_EVERY = timedelta(minutes=1)
GATHER = 0.5  # seconds to wait for more sources falling due at the same moment
SPREAD_STEP = timedelta(seconds=1)  # between overdue sources at start...
SPREAD_MAX = timedelta(minutes=2)  # ...but all of them within this
BUSY_RETRY = timedelta(seconds=30)  # a due source another worker holds: look again then


def plan(states: Sequence[SourceState], now: datetime, rng: random.Random) -> dict[str, datetime]:
    """When to wake up for each source: its stored due time, or, when it is overdue (or new),
    a moment soon, overdue sources spread out so they are not all checked in one burst."""
    overdue = sorted(
        (s for s in states if s.next_check_at is None or s.next_check_at <= now),
        key=lambda s: (s.next_check_at is not None, s.next_check_at or now, s.id),
    )
    step = min(SPREAD_STEP, SPREAD_MAX / max(len(overdue), 1))
    times = {s.id: s.next_check_at for s in states if s not in overdue}
    slots: dict[str, datetime] = {}  # sources sharing a URL share a moment, and a fetch
    for state in overdue:
        if state.url not in slots:
            slots[state.url] = now + step * len(slots) + timedelta(seconds=rng.uniform(0, 0.25))
        times[state.id] = slots[state.url]
    return times  # type: ignore[return-value]


class Scheduler:
    def __init__(self, app: App, *, drain_every: timedelta = DRAIN_EVERY) -> None:
        self.app = app
        self.drain_every = drain_every
        self.aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.due: set[str] = set()
        self.wake = asyncio.Event()
        self.passes: set[asyncio.Task[None]] = set()
        self.draining = asyncio.Lock()
        self.heartbeat: datetime | None = None
        self.dispatcher: asyncio.Task[None] | None = None
        self.stopping = False
        self.quit_delivery = asyncio.Event()  # a delivery in progress sends no new message
        self.drainer: asyncio.Task[object] | None = None
        self.drains: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.aps.start()
        self.aps.add_job(
            self._drain_job,
            IntervalTrigger(seconds=self.drain_every.total_seconds()),
            id="outbox",
            next_run_time=datetime.now(UTC),
        )
        self.aps.add_job(
            self.resync, IntervalTrigger(seconds=RESYNC_EVERY.total_seconds()), id="resync"
        )
        self._schedule_digests()
        await self.resync(start=True)
        self.dispatcher = asyncio.create_task(self._dispatch(), name="watcher-dispatch")

    async def stop(self, grace: float = 5.0) -> None:
        """No new checks; running ones get `grace` seconds, then are abandoned (each check's
        writes are one transaction, so none is left half-written). A delivery in progress
        finishes and records the message each connection is sending, sends no new one, and
        gives the rest back: queued mail stays queued, none is sent twice."""
        self.stopping = True
        self.quit_delivery.set()
        self.aps.shutdown(wait=False)
        if self.dispatcher:
            self.dispatcher.cancel()
        running = [*self.passes]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
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

    @property
    def alive(self) -> bool:
        if not self.aps.running or self.heartbeat is None:
            return False
        return datetime.now(UTC) - self.heartbeat < 3 * self.drain_every + timedelta(seconds=30)

    # -- sources -------------------------------------------------------------------------

    async def resync(self, *, start: bool = False) -> None:
        """Bring the jobs in line with the database: new, removed and rescheduled sources."""
        async with read_transaction(self.app.engine) as connection:
            states = await load_states(connection)
        now = datetime.now(UTC)
        wanted = plan(states, now, self.app.rng) if start else self._follow(states, now)
        for job in self.aps.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in {s.id for s in states}:
                job.remove()
        for source_id, when in wanted.items():
            self._at(source_id, when)

    def _follow(self, states: Sequence[SourceState], now: datetime) -> dict[str, datetime]:
        """Sources without a job (new ones), and those whose stored due time moved away from
        their job's (another worker checked them). Overdue sources with a job just wait for it."""
        moved = {}
        for state in states:
            job = self.aps.get_job(f"source:{state.id}")
            due = state.next_check_at
            if job is None:
                moved[state.id] = max(due or now, now)
            elif (
                due is not None
                and due > now
                and abs(job.next_run_time - due) > timedelta(seconds=1)
            ):
                moved[state.id] = due
        return moved

    def _at(self, source_id: str, when: datetime) -> None:
        if self.stopping:
            return
        self.aps.add_job(
            self._fall_due,
            DateTrigger(run_date=when),
            args=[source_id],
            id=f"source:{source_id}",
            replace_existing=True,
        )

    def _fall_due(self, source_id: str) -> None:
        """Due: check it soon, with the sources sharing its URL that are due shortly anyway
        (one fetch serves them all)."""
        self.due.add(source_id)
        source = self.app.config.source(source_id)
        window = self._sibling_window()
        for sibling in self.app.config.sources if source else ():
            if sibling.id == source_id or (sibling.url, sibling.headers) != (
                source.url,
                source.headers,
            ):
                continue
            job = self.aps.get_job(f"source:{sibling.id}")
            if job is not None and job.next_run_time <= datetime.now(UTC) + window:
                job.remove()
                self.due.add(sibling.id)
        self.wake.set()

    def _sibling_window(self) -> timedelta:
        return max(self.app.settings.checks.jitter * 2, timedelta(minutes=1))

    async def _dispatch(self) -> None:
        while not self.stopping:
            await self.wake.wait()
            await asyncio.sleep(GATHER)
            self.wake.clear()
            ids, self.due = sorted(self.due), set()
            if ids:
                task = asyncio.create_task(self._pass(ids), name="watcher-pass")
                self.passes.add(task)
                task.add_done_callback(self.passes.discard)

    async def _pass(self, ids: list[str]) -> None:
        try:
            result = await run_pass(self.app, ids=ids, only_due=True, early=self._sibling_window())
        except StoreError as exc:
            log.error("a pass over %d sources stopped: %s", len(ids), exc)
        except Exception:
            log.exception("a pass over %d sources failed", len(ids))
        else:
            counts = result.counts
            if result.outcomes:
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
        await self._reschedule(ids)
        if not self.stopping:
            await self.drain()

    async def _reschedule(self, ids: list[str]) -> None:
        async with read_transaction(self.app.engine) as connection:
            states = {s.id: s for s in await load_states(connection) if s.id in set(ids)}
        now = datetime.now(UTC)
        for source_id, state in states.items():
            due = state.next_check_at
            # Still overdue: another worker holds it right now. Look again a little later.
            self._at(source_id, due if due and due > now else now + BUSY_RETRY)

    # -- mail ----------------------------------------------------------------------------

    async def _drain_job(self) -> None:
        """APScheduler's job: start a drain as a task of our own and return. APScheduler
        cancels the jobs still running when it shuts down, and a delivery cancelled mid-send
        repeats the message; `stop` lets a drain end cleanly instead."""
        if self.stopping or self.draining.locked():
            return
        task = asyncio.create_task(self.drain(), name="watcher-drain")
        self.drains.add(task)
        task.add_done_callback(self.drains.discard)

    async def drain(self) -> None:
        """Queue what is due (immediate mail, closed digests), then deliver the outbox."""
        self.heartbeat = datetime.now(UTC)
        if self.draining.locked() or self.quit_delivery.is_set():
            return
        async with self.draining:
            self.drainer = asyncio.current_task()
            try:
                await compose_pending(self.app)
                await deliver(self.app, stop=self.quit_delivery)
                await self._update_gauges()
            except StoreError as exc:  # no bug to trace: the database said no
                log.error("draining the outbox stopped: %s; it is tried again shortly", exc)
            except Exception:
                log.exception("draining the outbox failed; it is tried again shortly")
            finally:
                self.drainer = None

    def _schedule_digests(self) -> None:
        mail = self.app.settings.mail
        zone = ZoneInfo(self.app.settings.service.timezone)
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
        async with read_transaction(self.app.engine) as connection:
            counts = await outbox_counts(connection)
            states = await load_states(connection)
        for status in ("queued", "sent", "failed", "cancelled"):
            self.app.metrics.outbox.labels(status).set(counts.get(status, 0))
        self.app.metrics.failing.set(sum(1 for s in states if s.status == "failing"))
        self.app.metrics.sources.set(len(states))

    def reschedule_digests(self) -> None:
        self._schedule_digests()
