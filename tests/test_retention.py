"""Retention (`[retention]`, `store/retention.py`): old mail bodies and old changes go, and
nothing a reader still waits for or the next check needs goes with them. On SQLite and on
PostgreSQL, through `watcher prune` as an operator runs it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Clock, demo_data
from tests.mailing import cycle
from watcher.app import open_app
from watcher.check import run_pass
from watcher.cli import main
from watcher.cli import prune as prune_module
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.store import read_transaction
from watcher.store.schema import changes, messages, notifications, snapshots, sources

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return str(request.getfixturevalue("postgres_url"))


def config_for(site: SiteServer, database: str, tmp_path: Path, **retention: str) -> Any:
    data = demo_data(site, database)
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    data["subscribers"] = [
        {"email": "now@example.org", "countries": ["VN"]},
        {"email": "daily@example.org", "countries": ["VN"], "frequency": "daily"},
    ]
    data["retention"] = retention
    return build_config(data, {}, tmp_path / "watcher.toml")


async def counts(app: Any) -> dict[str, Any]:
    async with read_transaction(app.engine) as connection:

        async def scalar(query: Any) -> Any:
            return (await connection.execute(query)).scalar()

        return {
            "changes": await scalar(select(func.count()).select_from(changes)),
            "snapshots": await scalar(select(func.count()).select_from(snapshots)),
            "notifications": await scalar(select(func.count()).select_from(notifications)),
            "pending": await scalar(
                select(func.count()).where(notifications.c.status == "pending")
            ),
            "messages": await scalar(select(func.count()).select_from(messages)),
            "bodies": await scalar(select(func.count()).where(func.length(messages.c.body) > 0)),
            "sources with a snapshot": await scalar(
                select(func.count(func.distinct(snapshots.c.source_id)))
            ),
            "sources": await scalar(select(func.count()).select_from(sources)),
        }


async def prune_command(
    config: Any, capsys: pytest.CaptureFixture[str], clock: Clock
) -> dict[str, int]:
    """`watcher prune --json`, as an operator runs it (its own event loop), on the test's
    clock."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prune_module, "app_of", lambda args: open_app(config, clock=clock))
        assert await asyncio.to_thread(main, ["prune", "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


async def test_old_bodies_and_changes_go_and_what_is_needed_stays(
    site: SiteServer, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(START)
    config = config_for(site, database, tmp_path, message_bodies="30d", changes="90d")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=1)
        report = await cycle(app, site, "r2")  # the immediate reader is mailed
        assert report.sent == 1
        before = await counts(app)
    assert before["changes"] > 0
    assert before["pending"] > 0  # the daily reader's news waits for the digest hour

    clock.advance(days=31)  # the mail is old enough, the changes are not
    first = await prune_command(config, capsys, clock)
    assert first == {"bodies": 1, "changes": 0, "snapshots": 0}
    async with open_app(config, clock=clock) as app:
        after = await counts(app)
        async with read_transaction(app.engine) as connection:
            (row,) = (await connection.execute(select(messages))).all()
    assert after["messages"] == 1
    assert after["bodies"] == 0
    assert row.status == "sent"
    assert row.subject  # the row says what it was
    assert row.body_dropped_at == clock.now

    clock.advance(days=60)  # now the changes are old enough too
    second = await prune_command(config, capsys, clock)
    async with open_app(config, clock=clock) as app:
        kept = await counts(app)
        # The next check diffs against the snapshots kept: no false change, no new baseline.
        result = await run_pass(app, every=True)
    # The daily reader never got their digest: their news (and its changes) stays.
    assert kept["pending"] == before["pending"]
    assert kept["changes"] == before["pending"]
    assert second["changes"] == before["changes"] - kept["changes"]
    assert kept["sources with a snapshot"] == before["sources with a snapshot"]
    assert set(result.counts) == {"unchanged"}, result.counts


async def test_a_change_a_reader_waits_for_is_kept_until_it_is_sent(
    site: SiteServer, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(START)
    config = config_for(site, database, tmp_path, changes="1d", message_bodies="forever")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")
        waiting = (await counts(app))["pending"]
    clock.advance(days=2)
    await prune_command(config, capsys, clock)
    async with open_app(config, clock=clock) as app:
        assert (await counts(app))["pending"] == waiting
        clock.now = datetime(2026, 3, 5, 7, 1, tzinfo=UTC)  # past the digest hour
        report = await cycle(app, site)
        assert report.sent == 1  # the digest carries the news pruning left alone
        assert (await counts(app))["bodies"] == 2  # "forever": no body dropped
    clock.advance(days=2)
    assert (await prune_command(config, capsys, clock))["bodies"] == 0
    async with open_app(config, clock=clock) as app:
        left = await counts(app)
    assert left["changes"] == 0  # sent: nobody waits for it any more
    assert left["notifications"] == 0
    assert left["sources with a snapshot"] == left["sources"]


def test_retention_written_wrong_is_one_clear_line(tmp_path: Path) -> None:
    from tests.configs import base, errors_of

    data = base()
    data["retention"] = {"changes": "a year"}
    assert errors_of(data) == [
        "watcher.toml: retention.changes: 'a year': write how long, like '30d' or '52w',"
        " or 'forever'"
    ]


def test_the_defaults_keep_a_year(tmp_path: Path) -> None:
    from tests.configs import base

    config = build_config(base(), {}, tmp_path / "watcher.toml")
    assert config.settings.retention.changes == timedelta(days=365)
    assert config.settings.retention.message_bodies == timedelta(days=365)
