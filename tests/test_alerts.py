"""The operator's alert: queued by the check with the failure that earns it, composed with
the outbox (`notify/alerts.py`): once per run of failures, never about a source that
recovered first, and tried again when composing it failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Clock
from tests.mailing import mail_config, outbox
from tests.smtp import MailServer
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.notify.compose import Composer
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.schema import sources

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPERATOR = {"operator_email": "ops@readers.example"}


@pytest.fixture
async def failing(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> AsyncIterator[tuple[App, Clock]]:
    """An app whose operator is told, after a baseline and five failures in a row."""
    clock = Clock(START)
    config = mail_config(site, mail_server, tmp_path, [], service=OPERATOR)
    async with open_app(config, clock=clock) as app:
        await run_pass(app, every=True)
        await failing_passes(app, site, clock, 5)
        yield app, clock


async def failing_passes(app: App, site: SiteServer, clock: Clock, count: int) -> None:
    site.overrides["/cp/vietnam.html"] = (503, {"Content-Type": "text/plain"}, b"down")
    for _ in range(count):
        clock.advance(hours=7)
        await run_pass(app, every=True)


async def alert_due(app: App) -> bool:
    async with read_transaction(app.engine) as connection:
        query = select(sources.c.alert_due).where(sources.c.id == "vn-profile")
        return bool((await connection.execute(query)).scalar())


async def alerts(app: App) -> list[str]:
    queued = [m for ms in (await outbox(app)).values() for m in ms if m.kind == "alert"]
    return [m.subject for m in queued]


async def test_the_check_queues_the_alert_and_the_outbox_composes_it(
    failing: tuple[App, Clock], site: SiteServer
) -> None:
    app, clock = failing
    assert await alert_due(app)  # queued with the fifth failure, not yet composed
    assert await alerts(app) == []
    assert await compose_pending(app, settle=timedelta(0)) == 1
    assert await alerts(app) == ["watcher: vn-profile has failed 5 checks in a row"]
    assert not await alert_due(app)
    await failing_passes(app, site, clock, 2)
    await compose_pending(app, settle=timedelta(0))
    assert len(await alerts(app)) == 1  # once per run of failures


async def test_a_source_that_recovered_before_its_alert_was_composed_is_not_alerted(
    failing: tuple[App, Clock], site: SiteServer
) -> None:
    app, clock = failing
    del site.overrides["/cp/vietnam.html"]
    clock.advance(hours=7)
    await run_pass(app, every=True)
    assert await compose_pending(app, settle=timedelta(0)) == 0
    assert await alerts(app) == []
    assert not await alert_due(app)


async def test_an_alert_that_could_not_be_composed_is_composed_next_time(
    failing: tuple[App, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = failing
    original = Composer.alert_message
    calls = []

    def once_broken(self: Composer, *args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a template bug")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Composer, "alert_message", once_broken)
    assert await compose_pending(app, settle=timedelta(0)) == 0
    assert await alert_due(app)  # still due: the failure was the composer's
    assert await compose_pending(app, settle=timedelta(0)) == 1
    assert len(await alerts(app)) == 1
    assert not await alert_due(app)
