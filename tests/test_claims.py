"""Which sources a worker's claim takes, on a SQLite file and on the real PostgreSQL: the
longest overdue first; among sources due at the same instant (a new configuration, a pass
made due at once), every host's first before any host's second, across the whole due set,
not only the batch's neighbours; and reading about a batch's worth of rows, however many
sources are due or were removed from the configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import insert, select, text, update

from tests.plans import rows_read, sqlite_plan
from watcher.app import App, open_app
from watcher.loading import build_config
from watcher.store import create_engine, migrate, write_transaction
from watcher.store.schema import sources
from watcher.store.sources import SourceState, claim_sources, due_window

LEASE = timedelta(minutes=2)


def grouped(database: str, tmp_path: Path, hosts: dict[str, int]) -> Any:
    """One country whose sources come host by host, as a configuration lists one site's
    pages and then another's."""
    pages = [
        {"id": f"{host}{n:04d}", "url": f"http://{host}.example/{n}.html"}
        for host, count in hosts.items()
        for n in range(count)
    ]
    data = {
        "service": {"database": database},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": pages}],
    }
    return build_config(data, {}, tmp_path / "watcher.toml")


async def claim(app: App, limit: int) -> list[SourceState]:
    async with write_transaction(app.engine) as connection:
        return await claim_sources(
            connection, now=app.clock(), worker=app.worker, lease=LEASE, limit=limit
        )


def hosts_of(states: list[SourceState]) -> list[str]:
    return [urlsplit(state.url).hostname or "" for state in states]


async def test_new_sources_are_claimed_host_by_host_across_the_whole_due_set(
    each_database: str, tmp_path: Path
) -> None:
    """A configuration of 60 pages of one site, then 4 of another: the first batch of 8
    holds the second site's 4, though 60 sources come before them. A batch of the first
    site's alone would be let out `per_host` at a time while the other site waited."""
    settings = grouped(each_database, tmp_path, {"a": 60, "b": 4})
    async with open_app(settings) as app:
        first = await claim(app, 8)
    assert sorted(hosts_of(first)) == ["a.example"] * 4 + ["b.example"] * 4


async def test_sources_made_due_at_one_instant_are_claimed_host_by_host(
    each_database: str, tmp_path: Path
) -> None:
    """The same once every source was checked and then made due at one moment again (as
    after an outage, or `watcher check --all` through the service): a site's turn order
    is kept from the configuration, not recomputed from the batch."""
    settings = grouped(each_database, tmp_path, {"a": 60, "b": 4, "c": 2})
    async with open_app(settings) as app:
        due = app.clock() - timedelta(minutes=5)
        async with write_transaction(app.engine) as connection:
            await connection.execute(update(sources).values(next_check_at=due))
        first = await claim(app, 6)
        second = await claim(app, 6)
    assert sorted(hosts_of(first)) == ["a.example"] * 2 + ["b.example"] * 2 + ["c.example"] * 2
    assert sorted(hosts_of(second)) == ["a.example"] * 4 + ["b.example"] * 2
    assert [s.id for s in first if s.id.startswith("a")] == ["a0000", "a0001"]


async def test_the_longest_overdue_come_first_whatever_their_host(
    each_database: str, tmp_path: Path
) -> None:
    """Turns order only sources due at the same instant: one overdue longer is claimed
    before every host's first."""
    settings = grouped(each_database, tmp_path, {"a": 10, "b": 10})
    async with open_app(settings) as app:
        now = app.clock()
        async with write_transaction(app.engine) as connection:
            await connection.execute(update(sources).values(next_check_at=now))
            await connection.execute(
                update(sources)
                .where(sources.c.id.in_(["a0007", "b0009"]))
                .values(next_check_at=now - timedelta(hours=1))
            )
        first = await claim(app, 2)
    assert sorted(state.id for state in first) == ["a0007", "b0009"]


async def test_a_source_added_later_takes_the_next_turn_on_its_host(
    each_database: str, tmp_path: Path
) -> None:
    """A site's page added to a running configuration comes after that site's others when
    they are all due together; another site's first still comes before it."""
    async with open_app(grouped(each_database, tmp_path, {"a": 3, "b": 1})):
        pass
    settings = grouped(each_database, tmp_path, {"a": 4, "b": 1, "c": 1})
    async with open_app(settings) as app:
        async with write_transaction(app.engine) as connection:
            await connection.execute(update(sources).values(next_check_at=app.clock()))
        order = [state.id for state in await claim(app, 6)]
    assert order.index("a0003") > max(order.index(f"a000{n}") for n in range(3))
    assert order.index("c0000") < order.index("a0001")


@pytest.mark.postgres
async def test_a_claim_reads_about_a_batch_of_rows_however_many_are_due(
    postgres_url: str, tmp_path: Path
) -> None:
    """With 5,000 sources due, claiming a batch of 50 reads the rows of a few batches off
    the due index, not every due source (a scan and a sort of the whole due set per batch
    made a pass over N due sources cost N x N / batch rows)."""
    settings = grouped(postgres_url, tmp_path, {"a": 2_500, "b": 2_500})
    async with open_app(settings) as app:
        async with write_transaction(app.engine) as connection:
            await connection.execute(text("ANALYZE sources"))
        await claim(app, 50)  # the statements are planned once
        before = await rows_read(app, "sources")
        claimed = await claim(app, 50)
        read = await rows_read(app, "sources") - before
    assert len(claimed) == 50
    assert read < 50 * 10, f"{read} rows of sources read to claim 50 of 5,000 due"


async def test_the_claim_walks_the_due_index_on_sqlite(tmp_path: Path) -> None:
    """SQLite's plan for the batch a worker chooses from: the due index, read in its order
    and left once the batch is found, never the table read and sorted."""
    steps = await sqlite_plan(tmp_path / "p.db", due_window(datetime.now(UTC), 512))
    assert any("sources USING INDEX ix_sources_due" in step for step in steps), steps
    assert not any("TEMP B-TREE" in step or step.startswith("SCAN sources") for step in steps), (
        steps
    )


async def test_an_older_database_gives_its_sources_turns_and_due_times(
    each_database: str,
) -> None:
    """Upgrading (migration 0015): sources never checked, due with no time (NULL) before,
    are due from when they were added, and each host's sources take turns in the order they
    were added, the data otherwise as it was."""
    from alembic import command

    from watcher.store.migrate import alembic_config

    def to_0014(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0014")

    added = datetime(2026, 11, 1, tzinfo=UTC)
    table = sources.c
    engine = create_engine(each_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(to_0014)
        async with write_transaction(engine) as connection:
            for n, (source_id, url) in enumerate(
                [
                    ("z", "http://a.example/1"),
                    ("y", "http://b.example/1"),
                    ("x", "http://user@A.example/2"),
                    ("w", "http://a.example:8080/3"),
                ]
            ):
                values = {"id": source_id, "country": "VN", "url": url, "name": source_id}
                await connection.execute(
                    insert(sources).values(**values, created_at=added + timedelta(minutes=n))
                )
        await migrate(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(table.id, table.turn, table.next_check_at, table.created_at)
                )
            ).all()
    finally:
        await engine.dispose()
    assert {row.id: row.turn for row in rows} == {"z": 0, "y": 0, "x": 1, "w": 0}
    assert all(row.next_check_at == row.created_at for row in rows)


@pytest.mark.postgres
async def test_sources_removed_from_the_configuration_cost_a_claim_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """Sources removed from the configuration stay in the table (their history is kept),
    overdue for ever: a claim must not walk past them, however many there are."""
    settings = grouped(postgres_url, tmp_path, {"a": 2_000, "b": 100})
    async with open_app(settings):
        pass
    settings = grouped(postgres_url, tmp_path, {"b": 100})  # site a's pages are gone
    async with open_app(settings) as app:
        async with write_transaction(app.engine) as connection:
            await connection.execute(update(sources).values(next_check_at=app.clock()))
            await connection.execute(text("ANALYZE sources"))
        await claim(app, 10)  # the statements are planned once
        before = await rows_read(app, "sources")
        claimed = await claim(app, 10)
        read = await rows_read(app, "sources") - before
    assert hosts_of(claimed) == ["b.example"] * 10
    assert read < 10 * 10, f"{read} rows of sources read to claim 10 beside 2,000 removed"
