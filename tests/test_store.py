"""Storage: migrations match the schema, SQLite survives concurrent processes, PostgreSQL
runs the same code."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from tests.conftest import demo_data, write_config
from tests.harness import Harness
from tests.plans import sqlite_plan
from tests.samples import VIETNAM
from tests.servers import ScriptedServer, slow
from watcher.demo.site import SiteServer
from watcher.diff.change import Change
from watcher.diff.page import diff_pages
from watcher.extract.document import Line, PageDocument
from watcher.service.scheduler import LIVE_STATUSES
from watcher.store import create_engine, migrate, read_transaction, write_transaction
from watcher.store.changes import (
    NewChange,
    add_changes,
    add_snapshots,
    changes_listing,
    latest_snapshot,
    list_changes,
)
from watcher.store.claims import claimants
from watcher.store.db import use_wal
from watcher.store.messages import counts_query
from watcher.store.migrate import head_revision
from watcher.store.news import News, queue_notifications
from watcher.store.schema import changes, messages, metadata, notifications, snapshots, sources
from watcher.store.sources import due_queries
from watcher.store.subscribers import subscribe


async def schema_differences(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        await migrate(engine)
        await migrate(engine)  # a second start finds nothing to do
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()


async def test_migrations_build_exactly_the_schema_on_sqlite(tmp_path: Path) -> None:
    assert await schema_differences(f"sqlite:///{tmp_path / 'm.db'}") == []


@pytest.mark.postgres
async def test_migrations_build_exactly_the_schema_on_postgresql(postgres_url: str) -> None:
    assert await schema_differences(postgres_url) == []


async def unindexed_foreign_keys(url: str) -> list[str]:
    """Foreign keys of the migrated database with no index (primary key, unique constraint
    or plain index) that leads with their columns."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            return await connection.run_sync(_unindexed_foreign_keys)
    finally:
        await engine.dispose()


def _unindexed_foreign_keys(connection: Any) -> list[str]:
    inspector = inspect(connection)
    missing = []
    for table in inspector.get_table_names():
        leads = [inspector.get_pk_constraint(table)["constrained_columns"]]
        leads += [index["column_names"] for index in inspector.get_indexes(table)]
        leads += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
        for key in inspector.get_foreign_keys(table):
            columns = key["constrained_columns"]
            if not any(lead[: len(columns)] == columns for lead in leads):
                missing.append(f"{table}.{','.join(columns)}")
    return missing


async def test_every_foreign_key_is_indexed_on_sqlite(tmp_path: Path) -> None:
    assert await unindexed_foreign_keys(f"sqlite:///{tmp_path / 'fk.db'}") == []


@pytest.mark.postgres
async def test_every_foreign_key_is_indexed_on_postgresql(postgres_url: str) -> None:
    assert await unindexed_foreign_keys(postgres_url) == []


async def test_looking_for_dead_claims_reads_only_the_claimed_messages(tmp_path: Path) -> None:
    """Every drain asks which workers hold live claims; the outbox keeps every message sent,
    so the question must be answered from the claims index, not by reading the table."""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    steps = await sqlite_plan(tmp_path / "c.db", claimants(messages, now))
    assert any("messages USING INDEX ix_messages_claimed_until" in step for step in steps), steps
    assert not any(step.startswith("SCAN messages") for step in steps), steps


async def test_an_idle_worker_finds_the_next_due_time_off_indexes(tmp_path: Path) -> None:
    """A worker with nothing to claim asks when the next check falls due, again and again;
    with 100,000 sources the answer must come off an index, never from reading the table."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    for statement in due_queries(now):
        steps = await sqlite_plan(tmp_path / "d.db", statement)
        assert any("USING INDEX ix_sources_" in step for step in steps), steps
        assert not any(step == "SCAN sources" for step in steps), steps
    steps = await sqlite_plan(tmp_path / "d.db", claimants(sources, now))
    assert any("USING INDEX ix_sources_claimed_until" in step for step in steps), steps


async def test_the_drains_outbox_gauges_leave_the_sent_mail_unread(tmp_path: Path) -> None:
    """Every drain counts what waits or failed; the outbox keeps every message sent, so that
    count must come off the status index, not from reading every message."""
    steps = await sqlite_plan(tmp_path / "g.db", counts_query(LIVE_STATUSES))
    assert any("USING COVERING INDEX ix_messages_status_next_attempt_at" in s for s in steps), steps
    assert not any(step.startswith("SCAN messages") for step in steps), steps


async def a_source_that_changed(connection: Any, now: datetime) -> tuple[int, Change]:
    """Source s1 in VN, its snapshot's id, and a change to log against it."""
    await connection.execute(
        sources.insert().values(
            id="s1", country="VN", url="http://x/", name="x", created_at=now, next_check_at=now
        )
    )
    [snapshot_id] = await add_snapshots(connection, [("s1", page("b"))], now, keep=5)
    change = diff_pages(page("a"), page("b"))
    assert change is not None
    return snapshot_id, change


async def upgrade_from_0004(url: str) -> None:
    """A database made by the release before the foreign-key indexes, holding a change that
    points at its snapshot, upgrades to the head at start with nothing lost, and back down."""
    from alembic import command

    from watcher.store.migrate import alembic_config

    def to_revision(connection: Any, revision: str, down: bool = False) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(to_revision, "0004")
        now = datetime(2026, 11, 23, tzinfo=UTC)
        async with write_transaction(engine) as connection:
            snapshot_id, change = await a_source_that_changed(connection, now)
            # As that release wrote a change: the columns it had, none it did not.
            old = [c for c in changes.c if c.name not in ("significance", "reasons")]
            written = sqlalchemy.table("changes", *(sqlalchemy.column(c.name, c.type) for c in old))
            await connection.execute(
                sqlalchemy.insert(written).values(
                    source_id="s1",
                    country="VN",
                    detected_at=now,
                    kind=change.kind,
                    summary=change.summary(),
                    data=change.to_json(),
                    snapshot_id=snapshot_id,
                )
            )
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_unindexed_foreign_keys) == []
            row = (await connection.execute(select(changes))).one()
            assert row.snapshot_id == snapshot_id
            # 0019 scored the change already in the log, with the reasons for its score.
            assert 0 < row.significance <= 1
            assert "100% of the watched text changed" in json.loads(row.reasons)
        async with engine.begin() as connection:
            await connection.run_sync(to_revision, "0004", True)
        async with engine.connect() as connection:
            assert len(await connection.run_sync(_unindexed_foreign_keys)) == 3  # as in 0004
            assert (await connection.execute(select(changes.c.snapshot_id))).scalar() == (
                snapshot_id
            )
    finally:
        await engine.dispose()


async def test_a_0004_database_upgrades_with_its_data_on_sqlite(tmp_path: Path) -> None:
    await upgrade_from_0004(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
async def test_a_0004_database_upgrades_with_its_data_on_postgresql(postgres_url: str) -> None:
    await upgrade_from_0004(postgres_url)


async def test_sqlite_runs_in_wal_mode_and_records_its_revision(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'sub' / 'w.db'}")  # parents are created
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            revision = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert revision.scalar() == head_revision()
    finally:
        await engine.dispose()


def test_snapshot_retention_keeps_the_newest(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["service"]["keep_snapshots"] = 2
    harness = Harness(tmp_path, data, capsys)
    for revision in ("r1", "r2", "r1", "r2"):
        site.revision = revision
        harness.check()
    count, latest = harness.snapshot("vn-profile")
    assert count == 2
    assert latest is not None
    assert latest.updated == "29 October 2012"
    assert len([c for c in harness.changes() if c["source_id"] == "vn-profile"]) == 3


def many_sources(scripted: ScriptedServer, tmp_path: Path, database: str, count: int) -> Path:
    sources = []
    for number in range(count):
        path = f"/p/{number}"
        scripted.routes[path] = slow(0.05, VIETNAM)
        sources.append({"id": f"p{number}", "url": scripted.url(path), "select": "#content"})
    data = {
        "service": {"database": database},
        "checks": {"per_host": 8, "concurrency": 8},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": sources}],
    }
    return write_config(tmp_path, data)


def run_together(config: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def assert_each_source_checked_once(scripted: ScriptedServer, count: int) -> None:
    for number in range(count):
        assert scripted.count(f"/p/{number}") == 1, number


def test_first_starts_at_once_put_a_new_database_in_wal_mode(tmp_path: Path) -> None:
    # Switching to WAL is refused at once ("database is locked", no busy wait) while another
    # connection switches: a plain PRAGMA failed ~1 time in 10 here, two `watcher check` on
    # a new database now and then.
    failures: list[Exception] = []
    for number in range(20):
        path = tmp_path / f"{number}.db"
        barrier = threading.Barrier(4)

        def first_start(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            connection = sqlite3.connect(path, timeout=5, check_same_thread=False)
            barrier.wait()
            try:
                use_wal(connection)
            except sqlite3.OperationalError as exc:
                failures.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=first_start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert failures == []


def test_two_checks_at_once_on_sqlite_neither_crash_nor_repeat(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    count = 60
    database = tmp_path / "w.db"
    config = many_sources(scripted, tmp_path, f"sqlite:///{database}", count)
    # two passes racing for the same due sources: each source is checked once
    racing = run_together(config, ["check"], ["check"])
    for result in racing:
        assert result.returncode == 0, result.stderr
        assert "locked" not in result.stderr
    assert_each_source_checked_once(scripted, count)
    # two passes writing at the same time, each on its own half
    half = [f"p{n}" for n in range(count // 2)]
    rest = [f"p{n}" for n in range(count // 2, count)]
    for result in run_together(config, ["check", *half], ["check", *rest]):
        assert result.returncode == 0, result.stderr
        assert "Checked 30 sources" in result.stdout
    assert sum(scripted.count(f"/p/{n}") for n in range(count)) == 2 * count
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM snapshots").fetchone() == (count,)
        assert connection.execute(
            "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL"
        ).fetchone() == (0,)


@pytest.mark.postgres
def test_two_checks_at_once_on_postgresql(
    scripted: ScriptedServer, tmp_path: Path, postgres_url: str
) -> None:
    count = 40
    config = many_sources(scripted, tmp_path, postgres_url, count)
    results = run_together(config, ["check"], ["check"])
    for result in results:
        assert result.returncode == 0, result.stderr
    assert_each_source_checked_once(scripted, count)


@pytest.mark.postgres
def test_the_example_site_on_postgresql(
    site: SiteServer, tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(tmp_path, demo_data(site, postgres_url), capsys)
    assert "5 baseline" in harness.check()[1]
    site.revision = "r2"
    assert "3 changed" in harness.check()[1]
    site.revision = "r3"
    assert "0 changed" in harness.check()[1]
    assert {c["source_id"] for c in harness.changes()} == {"vn-profile", "vn-news", "la-updates"}
    harness.cli("subscribe", "desk@example.org", "VN")
    status, out, _ = harness.cli("subscribers")
    assert status == 0
    assert "desk@example.org" in out


def test_an_unreachable_database_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data: dict[str, Any] = {"service": {"database": "postgresql://nobody@127.0.0.1:1/none"}}
    harness = Harness(tmp_path, data, capsys)
    status, out, err = harness.cli("sources")
    assert status == 1
    assert out == ""
    assert err.startswith("watcher: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_the_head_revision_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from watcher.store.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def page(*texts: str) -> PageDocument:
    return PageDocument(lines=tuple(Line(("Overview",), "text", text) for text in texts))


async def batched_writes(url: str) -> None:
    """A batch's snapshots, changes and notifications, as the check writer stores them."""
    engine = create_engine(url)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [("s1", "VN"), ("s2", "VN"), ("s3", "TH")]
    try:
        await migrate(engine)
        async with write_transaction(engine) as connection:
            await connection.execute(
                sources.insert(),
                [
                    {
                        "id": id_,
                        "country": country,
                        "url": f"https://example.org/{id_}",
                        "name": id_,
                        "active": True,
                        "status": "new",
                        "failures": 0,
                        "created_at": now,
                        "next_check_at": now,
                    }
                    for id_, country in rows
                ],
            )
            subscribed = {}
            for email, countries in (
                ("vn@x.org", ["VN"]),
                ("all@x.org", ["VN", "*"]),
                ("th@x.org", ["TH"]),
                ("fr@x.org", ["FR"]),
            ):
                subscriber = await subscribe(
                    connection,
                    email=email,
                    countries=countries,
                    frequency=None,
                    origin="config",
                    now=now,
                )
                subscribed[email] = subscriber.id
        for round_ in range(3):
            async with write_transaction(engine) as connection:
                taken = [(id_, page(f"{id_} round {round_}")) for id_, _ in reversed(rows)]
                ids = await add_snapshots(connection, taken, now, keep=2)
            async with read_transaction(engine) as connection:
                stored = {
                    row.id: row.source_id
                    for row in await connection.execute(
                        select(snapshots.c.id, snapshots.c.source_id)
                    )
                }
                # The ids come back in the order the documents were given.
                assert [stored[i] for i in ids] == ["s3", "s2", "s1"]
                for id_, _ in rows:
                    latest = await latest_snapshot(connection, id_)
                    assert latest == page(f"{id_} round {round_}")
        # Each source keeps its own newest two; trimming one never touches another's.
        assert sorted(stored.values()) == ["s1", "s1", "s2", "s2", "s3", "s3"]

        change = diff_pages(page("s1 round 1"), page("s1 round 2"))
        assert change is not None
        async with write_transaction(engine) as connection:
            change_ids = await add_changes(
                connection,
                [NewChange("s1", "VN", change, ids[2]), NewChange("s3", "TH", change, ids[0])],
                now,
            )
            queued = await queue_notifications(
                connection,
                [News(change_ids[0], "VN", change), News(change_ids[1], "TH", change)],
                now=now,
                notable=0.4,
            )
        async with read_transaction(engine) as connection:
            logged = [
                (row.id, row.source_id, row.snapshot_id)
                for row in await connection.execute(select(changes).order_by(changes.c.id))
            ]
            told = {
                (row.subscriber_id, row.change_id)
                for row in await connection.execute(select(notifications))
            }
        assert logged == [(change_ids[0], "s1", ids[2]), (change_ids[1], "s3", ids[0])]
        # A subscriber of VN and of everything hears of the VN change once; FR hears nothing.
        assert queued == 4
        assert told == {
            (subscribed["vn@x.org"], change_ids[0]),
            (subscribed["all@x.org"], change_ids[0]),
            (subscribed["all@x.org"], change_ids[1]),
            (subscribed["th@x.org"], change_ids[1]),
        }
    finally:
        await engine.dispose()


async def test_a_batch_of_snapshots_changes_and_notifications_on_sqlite(tmp_path: Path) -> None:
    await batched_writes(f"sqlite:///{tmp_path / 'b.db'}")


@pytest.mark.postgres
async def test_a_batch_of_snapshots_changes_and_notifications_on_postgresql(
    postgres_url: str,
) -> None:
    await batched_writes(postgres_url)


async def changes_since(url: str) -> None:
    """`since` returns exactly the changes detected since then, newest first, even when a
    worker with a late clock logged an older time after a newer one."""
    engine = create_engine(url)
    day = datetime(2026, 11, 23, tzinfo=UTC)
    try:
        await migrate(engine)
        async with write_transaction(engine) as connection:
            snapshot_id, change = await a_source_that_changed(connection, day)
            ids = []
            for hour in (10, 12, 11, 13, 9, 14):
                new = NewChange("s1", "VN", change, snapshot_id)
                ids += await add_changes(connection, [new], day.replace(hour=hour))
        async with read_transaction(engine) as connection:

            async def listed(**options: Any) -> list[int]:
                return [record.id for record in await list_changes(connection, **options)]

            at = day.replace
            assert await listed(since=at(hour=11)) == [ids[5], ids[3], ids[2], ids[1]]
            assert await listed(since=at(hour=11), limit=2) == [ids[5], ids[3]]
            assert await listed(since=at(hour=11), before_id=ids[3]) == [ids[2], ids[1]]
            assert await listed(since=at(hour=9)) == ids[::-1]
            assert await listed(since=at(hour=15)) == []
            assert await listed(since=at(hour=11), country="TH") == []
    finally:
        await engine.dispose()


async def test_changes_since_a_time_on_sqlite(tmp_path: Path) -> None:
    await changes_since(f"sqlite:///{tmp_path / 's.db'}")


@pytest.mark.postgres
async def test_changes_since_a_time_on_postgresql(postgres_url: str) -> None:
    await changes_since(postgres_url)


async def test_changes_since_a_time_do_not_read_the_whole_log(tmp_path: Path) -> None:
    """An API client asks every minute what is new; with no recent change, a newest-first
    scan filtered by time would read every change ever logged to find that out."""
    listing = changes_listing(since=datetime(2026, 11, 23, tzinfo=UTC))
    steps = await sqlite_plan(tmp_path / "p.db", listing)
    assert not any(step.startswith("SCAN changes") for step in steps), steps
    assert any("USING COVERING INDEX ix_changes_detected_at" in step for step in steps), steps


@pytest.mark.postgres
async def test_thousands_of_new_sources_are_analyzed_at_once(postgres_url: str) -> None:
    """Without statistics PostgreSQL plans every batch's claim as a scan of every source:
    2,606 table rows read per check with 100,000 sources, 34 once the table was analyzed
    (bench/scale.py). Adding many sources takes the statistics there and then."""
    from watcher.config.sources import Source
    from watcher.store.db import ANALYZE_AFTER
    from watcher.store.sources import sync_sources

    count = ANALYZE_AFTER + 500
    configured = [
        Source(
            id=f"s{n}",
            country="VN",
            country_name="Vietnam",
            url=f"https://example.org/{n}",
            name=f"Page {n}",
            kind="auto",
            select=None,
            exclude=(),
            ignore=(),
            match=None,
            updated_pattern="",
            interval=None,
            cron=None,
            timeout=timedelta(seconds=30),
            max_bytes=1_000_000,
        )
        for n in range(count)
    ]
    engine = create_engine(postgres_url)
    try:
        await migrate(engine)
        async with write_transaction(engine) as connection:
            await sync_sources(connection, configured, datetime.now(UTC))
        async with read_transaction(engine) as connection:
            estimate = await connection.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'sources'")
            )
            assert estimate.scalar_one() == count
    finally:
        await engine.dispose()
