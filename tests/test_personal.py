"""A reader's own data from the manage page (`web/personal.py`): downloaded whole, or erased
so that nothing left in the database names them."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from tests.conftest import SAME_SITE, confirmation_link
from watcher.app import App
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.notify.delivery import deliver
from watcher.notify.links import make_token
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.schema import metadata
from watcher.store.subscribers import find_subscriber

READER = "reader@readers.example"


async def subscribed_and_mailed(
    http: httpx.AsyncClient, app: App, site: SiteServer, address: str = READER
) -> str:
    """A reader subscribes through the site, confirms, and is mailed a change; their manage
    link."""
    form = {"email": address, "countries": ["VN"], "frequency": "immediate"}
    assert (await http.post("/subscribe", headers=SAME_SITE, data=form)).status_code == 200
    confirmed = await http.post(await confirmation_link(app, address), headers=SAME_SITE)
    assert confirmed.status_code == 200
    site.revision = "r1"  # the profiles go back to their first text: news
    assert (await run_pass(app, every=True)).changed
    await compose_pending(app, settle=timedelta(0))
    report = await deliver(app)
    assert (report.failed, report.retrying) == (0, 0), report
    async with read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, address)
    assert reader is not None
    return f"/manage/{make_token(reader.id, reader.token)}"


async def everything_stored(app: App) -> str:
    """Every row of every table, as text."""
    rows = []
    async with read_transaction(app.engine) as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                rows.append(repr(tuple(row)))
    return "\n".join(rows)


async def test_a_reader_downloads_everything_held_about_them(
    reader_client: httpx.AsyncClient,
    served: App,
    site: SiteServer,
) -> None:
    manage = await subscribed_and_mailed(reader_client, served, site)
    page = await reader_client.get(manage)
    assert "Download my data" in page.text
    assert (await reader_client.post(f"{manage}/data")).status_code == 403  # another site's form
    download = await reader_client.post(f"{manage}/data", headers=SAME_SITE)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["cache-control"] == "no-store"
    data = json.loads(download.text)
    assert (data["email"], data["countries"], data["status"]) == (READER, ["VN"], "active")
    assert (data["sections"], data["keywords"]) == ([], [])
    # times as everywhere in watcher's JSON: ISO 8601 in UTC, "Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", data["created_at"])
    assert all(m["created_at"].endswith("Z") for m in data["messages"])
    kinds = [message["kind"] for message in data["messages"]]
    assert kinds == ["confirm", "welcome", "change"]  # the welcome carries the manage link
    change = data["messages"][2]
    assert change["status"] == "sent"
    assert "Vietnam" in change["subject"]
    assert f"To: {READER}" in change["body"]


async def test_erasing_leaves_nothing_that_names_the_reader(
    reader_client: httpx.AsyncClient,
    served: App,
    site: SiteServer,
) -> None:
    manage = await subscribed_and_mailed(reader_client, served, site)
    async with read_transaction(served.engine) as connection:
        from watcher.store.schema import messages

        before = (await connection.execute(select(func.count()).select_from(messages))).scalar()
    assert READER in await everything_stored(served)

    shown = await reader_client.get(f"{manage}/erase")
    assert shown.status_code == 200
    assert "Erase me" in shown.text
    assert (await reader_client.post(f"{manage}/erase")).status_code == 403  # another site's form
    assert READER in await everything_stored(served)  # neither changed anything

    erased = await reader_client.post(f"{manage}/erase", headers=SAME_SITE)
    assert erased.status_code == 200
    assert "You are erased" in erased.text
    stored = await everything_stored(served)
    assert READER not in stored
    assert "readers.example" not in stored
    async with read_transaction(served.engine) as connection:
        from watcher.store.schema import messages

        after = (await connection.execute(select(func.count()).select_from(messages))).scalar()
        kept = (
            await connection.execute(select(messages).where(messages.c.recipient == "(erased)"))
        ).all()
    assert after == before  # the counts are kept
    assert [(row.kind, row.status, row.body) for row in kept] == [
        ("confirm", "sent", b""),
        ("welcome", "sent", b""),
        ("change", "sent", b""),
    ]
    assert all(row.subscriber_id is None for row in kept)
    assert (await reader_client.get(manage)).status_code == 404  # the link is dead
    assert (await reader_client.post(f"{manage}/data", headers=SAME_SITE)).status_code == 404


async def test_an_operators_reader_is_sent_to_the_operator(
    reader_client: httpx.AsyncClient,
    served: App,
) -> None:
    """A subscriber from the configuration would be added back at the next start: the page
    says whom to ask, and erases nothing."""
    async with read_transaction(served.engine) as connection:
        editor = await find_subscriber(connection, "editor@monitor.example")
    assert editor is not None
    assert editor.origin == "config"
    manage = f"/manage/{make_token(editor.id, editor.token)}"
    assert "added by the people who run" in (await reader_client.get(f"{manage}/erase")).text
    refused = await reader_client.post(f"{manage}/erase", headers=SAME_SITE)
    assert refused.status_code == 409
    assert "editor@monitor.example" in await everything_stored(served)
