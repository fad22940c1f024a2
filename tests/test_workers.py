"""Several `watcher run` processes on one PostgreSQL database act as one service: the schedule
is the `sources` table, each worker claims batches of due sources, and none is checked twice
within its interval (less jitter) or left waiting much past it; every worker takes a share.
Time is the database's: a worker whose clock runs ahead changes none of this."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from tests.conftest import write_config
from tests.servers import ScriptedServer, reply, slow
from tests.service import Running, start
from tests.smtp import MailServer, free_port
from watcher.app import open_app
from watcher.check import run as run_module
from watcher.check import run_pass
from watcher.loading import build_config
from watcher.service.scheduler import Scheduler
from watcher.store import write_transaction
from watcher.store.clock import DatabaseClock
from watcher.store.schema import sources

# CI watches 300 pages checked every 10 s for 36 s; WATCHER_WORKERS_LONG=1 the size:
# 600 pages every 20 s for four minutes.
LONG = bool(os.environ.get("WATCHER_WORKERS_LONG"))
PAGES = 600 if LONG else 300
INTERVAL = 20.0 if LONG else 10.0  # seconds; jitter at most a tenth of it
WORKERS = 3
WATCH = 240.0 if LONG else 36.0  # seconds of steady state observed
READERS = 200
SETTLE = 3.0  # seconds a country stays quiet before its readers are mailed


@pytest.mark.postgres
def test_three_workers_share_the_schedule_without_double_checks(
    scripted: ScriptedServer,
    mail_server: MailServer,
    postgres_url: str,
    tmp_path: Path,
    running: list[Running],
) -> None:
    hits: defaultdict[int, list[float]] = defaultdict(list)
    lock = threading.Lock()
    versions = [0] * PAGES  # a page's text changes when its version does

    def page(number: int):  # type: ignore[no-untyped-def]
        def answer(handler: BaseHTTPRequestHandler) -> None:
            with lock:
                hits[number].append(time.monotonic())
            text = f"Page {number}, version {versions[number]}"
            reply(handler, 200, f"<html><body><p>{text}</p></body></html>".encode())

        return answer

    for number in range(PAGES):
        scripted.routes[f"/p{number}.html"] = page(number)
    workers = []
    for index in range(WORKERS):
        port = free_port()
        data = {
            "service": {
                "database": postgres_url,
                "listen": f"127.0.0.1:{port}",
                "public_url": f"http://127.0.0.1:{port}",
            },
            "checks": {"interval": f"{INTERVAL:g}s", "jitter": "1s", "timeout": "5s"},
            "mail": {**mail_server.settings(), "settle": f"{SETTLE:g}s"},
            "countries": [
                {
                    "code": "VN",
                    "name": "Vietnam",
                    "sources": [
                        {"id": f"p{n}", "url": scripted.url(f"/p{n}.html")} for n in range(PAGES)
                    ],
                }
            ],
            "subscribers": [
                {"email": f"reader{n}@readers.example", "countries": ["VN"]} for n in range(READERS)
            ],
        }
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        workers.append(start(write_config(folder, data)))
        running.append(workers[-1])
    time.sleep(INTERVAL + 3)  # the first round (all due at once) settles
    started = time.monotonic()
    versions[7] = 1  # news: one email to each reader, once it has settled...
    time.sleep(WATCH / 2)
    versions[PAGES // 2] = 1  # ...and more news, well after: another one each
    time.sleep(WATCH / 2)
    deadline = time.monotonic() + 20
    while len(mail_server.received) < 2 * READERS and time.monotonic() < deadline:
        time.sleep(0.2)
    ended = time.monotonic()
    shares = Counter()
    for worker in workers:
        shares[str(worker.config.parent.name)] = sum(
            1 for r in worker.records() if r.get("logger") == "watcher.check"
        )
        assert worker.stop()[0] == 0
    with lock:
        observed = {n: [t for t in times if started <= t <= ended] for n, times in hits.items()}
        everything = {n: list(times) for n, times in hits.items()}
    gaps = [b - a for times in everything.values() for a, b in itertools.pairwise(times)]
    checks = sum(len(times) for times in observed.values())
    assert len(everything) == PAGES
    assert min(gaps) >= INTERVAL * 0.9 - 0.5, sorted(gaps)[:10]  # never twice in an interval
    assert max(gaps) <= INTERVAL * 1.1 + 4, sorted(gaps)[-10:]  # nobody starved
    assert checks >= PAGES * WATCH / (INTERVAL * 1.1 + 1)
    assert all(count > 0.1 * sum(shares.values()) for count in shares.values()), shares

    per_reader = Counter(r for item in mail_server.received for r in item.recipients)
    assert len(per_reader) == READERS
    assert set(per_reader.values()) == {2}, Counter(per_reader.values())  # once per change
    waited = asyncio.run(settle_waits(postgres_url))
    assert len(waited) == 2 * READERS
    assert min(waited) >= SETTLE, min(waited)  # none went out before its country settled


async def settle_waits(database: str) -> list[float]:
    """For each email: seconds from the last change it reports to its composition."""
    import asyncpg

    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch(
            "SELECT extract(epoch FROM m.created_at - max(c.detected_at)) AS waited"
            " FROM messages m JOIN notifications n ON n.message_id = m.id"
            " JOIN changes c ON c.id = n.change_id WHERE m.kind = 'change' GROUP BY m.id"
        )
    finally:
        await connection.close()
    return [float(row["waited"]) for row in rows]


def one_page(scripted: ScriptedServer, database: str, tmp_path: Path, **checks: str) -> Any:
    """A configuration watching the scripted server's /p.html as source "p"."""
    data = {
        "service": {"database": database},
        "checks": checks,
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "p", "url": scripted.url("/p.html")}],
            }
        ],
    }
    return build_config(data, {}, tmp_path / "watcher.toml")


@pytest.mark.postgres
async def test_a_worker_whose_clock_runs_ahead_keeps_the_databases_time(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    scripted.routes["/p.html"] = lambda handler: reply(handler, 200, b"<p>page</p>")
    settings = one_page(scripted, postgres_url, tmp_path)
    ahead = DatabaseClock(local=lambda: datetime.now(UTC) + timedelta(minutes=5))
    async with open_app(settings, clock=ahead) as app:
        async with write_transaction(app.engine) as connection:
            server = (await connection.execute(text("SELECT clock_timestamp()"))).scalar_one()
            due = server + timedelta(minutes=2)  # due in two minutes, by the database's clock
            await connection.execute(update(sources).values(next_check_at=due))
        assert abs(app.clock() - server) < timedelta(seconds=2)  # not five minutes ahead
        result = await run_pass(app)
        assert result.outcomes == []  # not checked three minutes early
        assert scripted.count("/p.html") == 0


async def test_a_check_that_lost_its_claim_writes_nothing(
    each_database: str, scripted: ScriptedServer, tmp_path: Path
) -> None:
    """The lease ran out mid-check and another worker took the source over: the late
    result is dropped (fenced by the claim), the new holder's claim and the log stay."""
    version = [1]

    def page(handler: BaseHTTPRequestHandler) -> None:
        if version[0] == 2:
            time.sleep(1.0)  # the check is in flight while its claim is taken over
        body = f"<html><body><p>Version {version[0]}</p></body></html>".encode()
        reply(handler, 200, body)

    scripted.routes["/p.html"] = page
    settings = one_page(scripted, each_database, tmp_path)
    async with open_app(settings) as app:
        await run_pass(app, every=True)  # the baseline
        version[0] = 2
        checking = asyncio.create_task(run_pass(app, every=True))
        await asyncio.sleep(0.5)
        taken = datetime.now(UTC) + timedelta(minutes=10)
        async with write_transaction(app.engine) as connection:
            await connection.execute(
                update(sources).values(claimed_by="elsewhere:1:abc", claimed_until=taken)
            )
        result = await checking
        [outcome] = result.outcomes
        assert outcome.status == "failed"
        assert "another worker took this source over" in outcome.detail
        async with write_transaction(app.engine) as connection:
            row = (await connection.execute(select(sources))).one()
            logged = (await connection.execute(text("SELECT count(*) FROM changes"))).scalar()
    assert row.claimed_by == "elsewhere:1:abc"  # the new holder keeps its claim
    assert (row.status, row.failures) == ("ok", 0)  # and its state: nothing written
    assert logged == 0


async def test_claims_are_renewed_while_the_check_goes_on(
    each_database: str, scripted: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leases are short (a dead worker's sources come back within about a minute), so a
    check that takes longer than one keeps its claim alive by renewing it."""
    monkeypatch.setattr(run_module, "claim_lease", lambda app: timedelta(seconds=1.5))

    def page(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3.0)
        reply(handler, 200, b"<html><body><p>slow</p></body></html>")

    scripted.routes["/p.html"] = page
    settings = one_page(scripted, each_database, tmp_path, timeout="10s")
    async with open_app(settings) as app:
        checking = asyncio.create_task(run_pass(app, every=True))
        await asyncio.sleep(2.5)  # past the first lease: only a renewal keeps the claim
        async with write_transaction(app.engine) as connection:
            row = (await connection.execute(select(sources))).one()
        assert row.claimed_by == app.worker
        assert row.claimed_until > app.clock()
        [outcome] = (await checking).outcomes
    assert outcome.status == "baseline"


async def test_a_slow_page_does_not_hold_up_the_next_batch(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    """A worker claims its next batch as soon as its fetch slots would go idle: the pages
    due after a batch are checked while that batch's one slow page is still answering."""
    hits: dict[str, float] = {}
    all_asked = threading.Event()

    def page(delay: float) -> Any:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            hits[handler.path] = time.monotonic()
            if len(hits) == 13:
                all_asked.set()
            time.sleep(delay)
            reply(handler, 200, f"<p>{handler.path}</p>".encode())

        return answer

    scripted.routes["/0.html"] = page(4.0)
    fast = [f"/{n}.html" for n in range(1, 13)]
    for path in fast:
        scripted.routes[path] = page(0.05)
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"concurrency": 2, "timeout": "10s"},  # batches of 4 x 2 = 8 sources
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": f"p{n:02d}", "url": scripted.url(f"/{n}.html")} for n in range(13)
                ],
            }
        ],
    }
    async with open_app(build_config(data, {}, tmp_path / "w.toml")) as app:
        scheduler = Scheduler(app)
        await scheduler.start()
        try:
            await asyncio.to_thread(all_asked.wait, 15)
        finally:
            await scheduler.stop()
    assert len(hits) == 13
    slow_answered = hits["/0.html"] + 4.0
    assert max(hits[path] for path in fast) < slow_answered - 2, "the batch after waited"


@pytest.mark.postgres
async def test_a_source_locked_for_a_moment_is_waited_for_not_taken_for_lost(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    """The fence locks the rows this worker holds before writing their results. A row
    another transaction has locked for a moment (this worker's own renewal of its claims,
    a long one over 20,000 sources) is still ours: waited for, not dropped as lost."""
    import asyncpg

    scripted.routes["/p.html"] = slow(1.0, b"<html><body><p>a page</p></body></html>")
    async with open_app(one_page(scripted, postgres_url, tmp_path)) as app:
        checking = asyncio.create_task(run_pass(app, every=True))
        await asyncio.sleep(0.5)  # claimed, and being fetched
        other = await asyncpg.connect(postgres_url)
        try:
            async with other.transaction():  # as a renewal does: lock, touch, commit
                await other.execute(
                    "UPDATE sources SET claimed_until = claimed_until + interval '1 minute'"
                )
                await asyncio.sleep(2.0)  # the check's result arrives meanwhile
        finally:
            await other.close()
        [outcome] = (await checking).outcomes
    assert outcome.status == "baseline", outcome.detail


def timed(asked: dict[str, float], delay: float) -> Any:
    """A page that notes when it was asked for, then answers after `delay` seconds."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        asked[handler.path] = time.monotonic()
        time.sleep(delay)
        reply(handler, 200, f"<p>{handler.path}</p>".encode())

    return answer


async def test_a_request_waiting_for_its_host_holds_no_fetch_slot(tmp_path: Path) -> None:
    """With `per_host = 1`, the second page of a slow host waits for that host, not for a
    fetch slot: the page of another host goes out meanwhile."""
    slow, fast = ScriptedServer().start(), ScriptedServer().start()
    asked: dict[str, float] = {}

    for n in range(3):
        slow.routes[f"/a{n}.html"] = timed(asked, 1.0)
    fast.routes["/b.html"] = timed(asked, 0.0)
    sources = [{"id": f"a{n}", "url": slow.url(f"/a{n}.html")} for n in range(3)]
    sources.append({"id": "b", "url": fast.url("/b.html")})
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"concurrency": 2, "per_host": 1},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": sources}],
    }
    try:
        async with open_app(build_config(data, {}, tmp_path / "w.toml")) as app:
            started = time.monotonic()
            await run_pass(app, every=True)
    finally:
        slow.stop()
        fast.stop()
    assert asked["/b.html"] - started < 0.8, "the other host waited for a slot"


@pytest.mark.postgres
async def test_the_fence_does_not_wait_forever(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction left open elsewhere on a claimed source: the writer gives up after the
    fence's lock timeout with the database's error, instead of hanging the pass."""
    import asyncpg

    from watcher.errors import StoreError
    from watcher.store import claims

    monkeypatch.setattr(claims, "FENCE_WAIT", "1s")

    scripted.routes["/p.html"] = slow(0.5, b"<html><body><p>a page</p></body></html>")
    async with open_app(one_page(scripted, postgres_url, tmp_path)) as app:
        checking = asyncio.create_task(run_pass(app, every=True))
        await asyncio.sleep(0.2)
        other = await asyncpg.connect(postgres_url)
        try:
            async with other.transaction():
                await other.execute("SELECT id FROM sources FOR UPDATE")
                with pytest.raises(StoreError):
                    await asyncio.wait_for(checking, timeout=8)
        finally:
            await other.close()


async def test_a_source_is_checked_again_when_its_interval_ends_not_after_the_idle_maximum(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    """While a batch is still being fetched the loop finds nothing else due and sleeps; the
    batch's own sources get new due times only when their checks end, and that wakes the
    loop: a source with a 2 s interval is checked every ~2 s, not every IDLE_MAX (30 s)."""
    asked: list[float] = []

    def page(handler: BaseHTTPRequestHandler) -> None:
        asked.append(time.monotonic())
        time.sleep(1.0)  # the loop looks for more work while this check is in flight
        reply(handler, 200, b"<html><body><p>a page</p></body></html>")

    scripted.routes["/p.html"] = page
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"interval": "2s", "jitter": "0s", "timeout": "5s"},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "p", "url": scripted.url("/p.html")}],
            }
        ],
    }
    async with open_app(build_config(data, {}, tmp_path / "w.toml")) as app:
        scheduler = Scheduler(app)
        await scheduler.start()
        try:
            await asyncio.sleep(9.0)
        finally:
            await scheduler.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(asked)]
    assert len(asked) >= 3, f"checked {len(asked)} times in 9 s with a 2 s interval"
    assert max(gaps) < 4.5, gaps


async def test_a_batch_spreads_over_hosts_when_the_due_sources_come_grouped(
    tmp_path: Path,
) -> None:
    """Due sources that come grouped by host (one site's twelve pages, then another's) are
    claimed across hosts: with `per_host = 1` a batch of one host's pages would leave every
    fetch slot but one idle while the other host's pages wait for the next batch."""
    slow_host, other_host = ScriptedServer().start(), ScriptedServer().start()
    asked: dict[str, float] = {}

    for n in range(12):
        slow_host.routes[f"/a{n}.html"] = timed(asked, 0.4)
    for n in range(4):
        other_host.routes[f"/b{n}.html"] = timed(asked, 0.0)
    pages = [{"id": f"a{n:02d}", "url": slow_host.url(f"/a{n}.html")} for n in range(12)]
    pages += [{"id": f"b{n}", "url": other_host.url(f"/b{n}.html")} for n in range(4)]
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"concurrency": 2, "per_host": 1},  # batches of 4 x 2 = 8 sources
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": pages}],
    }
    try:
        async with open_app(build_config(data, {}, tmp_path / "w.toml")) as app:
            scheduler = Scheduler(app)
            started = time.monotonic()
            await scheduler.start()
            try:
                for _ in range(100):
                    if len(asked) == 16:
                        break
                    await asyncio.sleep(0.1)
            finally:
                await scheduler.stop()
    finally:
        slow_host.stop()
        other_host.stop()
    late = {path: round(at - started, 2) for path, at in asked.items() if path.startswith("/b")}
    assert len(late) == 4, asked
    assert max(late.values()) < 1.0, f"the other host's pages waited: {late}"
