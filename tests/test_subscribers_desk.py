"""An operator's care of subscribers from the API (issue 27): search by address, erase a
reader as their own erase does, send a lost confirmation again; a reader declared in the
configuration is the file's to change."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAME_SITE, Clock, bearer, demo_data, web_client
from watcher.app import App, open_app
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.store import read_transaction
from watcher.store.messages import list_messages
from watcher.store.subscribers import find_subscriber

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
READER = "Asked.Once@Readers.example"


@pytest.fixture
async def desk(
    site: SiteServer, tmp_path: Path
) -> AsyncIterator[tuple[App, Clock, httpx.AsyncClient]]:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"]["maildir"] = str(tmp_path / "mail")
    clock = Clock(START)
    config = build_config(data, {}, tmp_path / "watcher.toml")
    async with open_app(config, clock=clock) as app, web_client(app) as http:
        yield app, clock, http


async def confirmations(app: App, address: str) -> list[str]:
    """The confirmation links mailed to `address`, oldest first."""
    async with read_transaction(app.engine) as connection:
        found = [m for m in await list_messages(connection, limit=100) if m.kind == "confirm"]
    links = []
    for message in sorted(found, key=lambda m: m.id):
        if message.recipient.lower() == address.lower():
            body = message.body.decode().replace("=\r\n", "")
            links.append(re.findall(r"http://127\.0\.0\.1:8080(/confirm/[^\s\"<=]+)", body)[0])
    return links


async def test_a_lost_confirmation_is_sent_again_and_its_new_link_works(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    app, clock, http = desk
    form = {"email": READER, "countries": ["VN"], "frequency": "immediate"}
    assert (await http.post("/subscribe", headers=SAME_SITE, data=form)).status_code == 200
    path = f"/api/v1/subscribers/{READER.lower()}/resend"
    soon = await http.post(path, headers=bearer())
    assert soon.json() == {"email": READER, "sent": False}  # one went out moments ago
    clock.advance(minutes=11)
    again = await http.post(path, headers=bearer())
    assert again.status_code == 200
    assert again.json() == {"email": READER, "sent": True}
    first, second = await confirmations(app, READER)
    assert first != second
    assert (await http.post(second, headers=SAME_SITE)).status_code == 200  # the new link
    async with read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, READER)
    assert reader is not None
    assert (reader.status, reader.countries) == ("active", ("VN",))

    confirmed = await http.post(path, headers=bearer())
    assert confirmed.status_code == 409  # nothing waits for a confirmation any more
    unknown = await http.post("/api/v1/subscribers/nobody@x.example/resend", headers=bearer())
    assert unknown.status_code == 404
    assert (await http.post(path)).status_code == 401


async def test_the_operator_searches_and_erases_a_reader(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    _, _, http = desk
    wanted = {"email": "gone.soon@readers.example", "countries": ["LA"]}
    assert (await http.post("/api/v1/subscribers", json=wanted, headers=bearer())).is_success
    found = await http.get("/api/v1/subscribers?q=GONE.soon", headers=bearer())
    assert [s["email"] for s in found.json()] == ["gone.soon@readers.example"]
    every = await http.get("/api/v1/subscribers?q=EXAMPLE", headers=bearer())
    assert len(every.json()) >= 2  # the demo's readers too, whatever the case
    assert (await http.get("/api/v1/subscribers?q=%25", headers=bearer())).json() == []

    erased = await http.delete("/api/v1/subscribers/gone.soon@readers.example", headers=bearer())
    assert erased.status_code == 204
    assert (await http.get("/api/v1/subscribers?q=gone", headers=bearer())).json() == []
    again = await http.delete("/api/v1/subscribers/gone.soon@readers.example", headers=bearer())
    assert again.status_code == 404
    declared = (await http.get("/api/v1/subscribers", headers=bearer())).json()[0]["email"]
    kept = await http.delete(f"/api/v1/subscribers/{declared}", headers=bearer())
    assert kept.status_code == 409
    assert "watcher.toml" in kept.json()["detail"]  # the file's to change


def test_the_command_line_searches_erases_and_resends(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.harness import Harness

    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    status, _, _ = harness.cli("subscribe", "Gone.Soon@readers.example", "LA")
    assert status == 0
    status, out, _ = harness.cli("subscribers", "--search", "gone.SOON")
    assert "Gone.Soon@readers.example" in out
    assert "editor@monitor.example" not in out
    status, out, err = harness.cli("resend", "gone.soon@readers.example")
    assert status == 2
    assert "no confirmation is waiting for gone.soon@readers.example" in err
    status, out, _ = harness.cli("erase", "gone.soon@readers.example")
    assert status == 0
    assert "Gone.Soon@readers.example is erased" in out
    status, out, _ = harness.cli("subscribers", "--search", "gone")
    assert "No subscribers." in out
    status, _, err = harness.cli("erase", "editor@monitor.example")
    assert status == 2
    assert "is declared in" in err
    assert "watcher.toml: remove them there" in err


async def messages_to(app: App, address: str) -> list[tuple[str, str]]:
    async with read_transaction(app.engine) as connection:
        found = await list_messages(connection, limit=100)
    return [(m.kind, m.body.decode()) for m in found if m.recipient.lower() == address.lower()]


async def test_a_confirmed_reader_is_welcomed_with_the_link_to_keep(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    app, _, http = desk
    form = {"email": READER, "countries": ["VN"], "frequency": "daily"}
    assert (await http.post("/subscribe", headers=SAME_SITE, data=form)).status_code == 200
    (link,) = await confirmations(app, READER)
    assert (await http.post(link, headers=SAME_SITE)).status_code == 200
    welcome = [body for kind, body in await messages_to(app, READER) if kind == "welcome"]
    assert len(welcome) == 1
    text = welcome[0].replace("=\r\n", "")
    assert "Subject: Welcome to" in text
    manage = re.findall(r"http://127\.0\.0\.1:8080(/manage/[^\s\"<=]+)", text)[0]
    page = await http.get(manage)
    assert page.status_code == 200
    assert "Vietnam" in page.text


async def test_a_lost_manage_link_is_emailed_to_the_address_alone(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    app, clock, http = desk
    wanted = {"email": "kept@readers.example", "countries": ["LA"]}
    assert (await http.post("/api/v1/subscribers", json=wanted, headers=bearer())).is_success
    form = await http.get("/manage-link")
    assert 'action="/manage-link"' in form.text
    answers = []
    for address in ("kept@readers.example", "stranger@readers.example"):
        sent = await http.post("/manage-link", headers=SAME_SITE, data={"email": address})
        assert sent.status_code == 200
        answers.append(re.sub(r"If \S+ follows", "If ADDRESS follows", sent.text))
    assert "an email with its manage link is on its way" in answers[0]
    assert answers[0] == answers[1]  # nothing tells a known address from a stranger
    kept = [kind for kind, _ in await messages_to(app, "kept@readers.example")]
    assert kept == ["manage"]
    assert await messages_to(app, "stranger@readers.example") == []  # and the same answer
    await http.post("/manage-link", headers=SAME_SITE, data={"email": "kept@readers.example"})
    assert [kind for kind, _ in await messages_to(app, "kept@readers.example")] == ["manage"]
    clock.advance(minutes=11)
    await http.post("/manage-link", headers=SAME_SITE, data={"email": "kept@readers.example"})
    assert len(await messages_to(app, "kept@readers.example")) == 2
    elsewhere = await http.post("/manage-link", data={"email": "kept@readers.example"})
    assert elsewhere.status_code == 403  # another site's form
    wrong = await http.post("/manage-link", headers=SAME_SITE, data={"email": "not an address"})
    assert wrong.status_code == 400


CSV = (
    "email,countries,sections,keywords,news_off,frequency\r\n"
    "one@readers.example,VN;LA,,,,daily\r\n"
    "two@readers.example,,VN: Mine Ban Policy,accede;Ottawa Convention,VN,\r\n"
    "not-an-address,VN,,,,\r\n"
    "three@readers.example,XX,,,,\r\n"
    "four@readers.example,,,,,\r\n"
    "five@readers.example,VN,,,,hourly\r\n"
)


async def test_an_import_asks_each_reader_to_confirm_unless_consent_is_stated(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    app, _, http = desk
    path = "/api/v1/subscribers/import"
    headers = {**bearer(), "Content-Type": "text/csv"}
    asked = await http.post(path, content=CSV.encode(), headers=headers)
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert (body["added"], body["asked"], body["unchanged"], body["waiting"]) == (0, 2, 0, 0)
    assert body["problems"] == [
        "line 4: 'not-an-address' is not an email address",
        "line 5: no such country: XX",
        "line 6: nothing to follow: give countries, sections or keywords",
        "line 7: frequency 'hourly': immediate, daily or weekly",
    ]
    assert len(await confirmations(app, "one@readers.example")) == 1  # double opt-in
    found = await http.get("/api/v1/subscribers?q=readers.example&inactive=true", headers=bearer())
    assert {s["email"]: s["status"] for s in found.json()} == {
        "one@readers.example": "pending",
        "two@readers.example": "pending",
    }
    again = await http.post(path, content=CSV.encode(), headers=headers)
    assert again.json()["waiting"] == 2  # not a second email minutes later

    consent = await http.post(path + "?consent=true", content=CSV.encode(), headers=headers)
    assert (consent.json()["added"], consent.json()["asked"]) == (2, 0)
    readers = {
        s["email"]: s for s in (await http.get("/api/v1/subscribers", headers=bearer())).json()
    }
    two = readers["two@readers.example"]
    assert (two["status"], two["origin"], two["news_off"]) == ("active", "import", ["VN"])
    assert two["keywords"] == ["accede", "Ottawa Convention"]
    assert readers["one@readers.example"]["countries"] == ["LA", "VN"]
    assert readers["one@readers.example"]["frequency"] == "daily"
    repeat = await http.post(path + "?consent=true", content=CSV.encode(), headers=headers)
    assert repeat.json()["unchanged"] == 2
    await http.post("/api/v1/subscribers/one@readers.example/unsubscribe", headers=bearer())
    again = await http.post(path + "?consent=true", content=CSV.encode(), headers=headers)
    assert again.json()["added"] == 0  # their own unsubscribe stands
    assert "line 2: one@readers.example unsubscribed: not subscribed again" in str(
        again.json()["problems"]
    )

    exported = await http.get("/api/v1/subscribers.csv", headers=bearer())
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0].startswith("email,countries,sections,keywords,news_off,frequency,status")
    assert any(line.startswith("two@readers.example,,VN: Mine Ban Policy,") for line in lines)
    assert any(line.startswith("one@readers.example,") and "unsubscribed" in line for line in lines)
    # What an export writes, an import reads back: nothing new to do.
    back = await http.post(path + "?consent=true", content=exported.content, headers=headers)
    assert back.json()["added"] == 0
    refused = back.json()["problems"]
    assert refused  # the readers the file declares, and the one who unsubscribed
    assert all(
        ("is declared in" in line and "watcher.toml" in line) or "unsubscribed" in line
        for line in refused
    )
    assert (await http.post(path, content=b"\xff\xfe", headers=headers)).status_code == 422
    huge = b"[" * 200_000  # a field past the csv module's limit: refused, not a crash
    unreadable = await http.post(path, content=huge, headers=headers)
    assert unreadable.status_code == 200
    assert unreadable.json()["problems"][0].startswith("line 1: not CSV watcher can read")
    late = b"email,countries\r\nlate@readers.example,VN\r\n" + b'"' + b"x" * 200_000
    stopped = await http.post(path + "?consent=true", content=late, headers=headers)
    assert stopped.json()["added"] == 1  # the rows before it are imported
    assert "not CSV watcher can read" in stopped.json()["problems"][0]
    assert (await http.post(path, content=CSV.encode())).status_code == 401


async def test_a_spreadsheet_formula_is_exported_inert(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    _, _, http = desk
    wanted = {"email": "=cmd@readers.example", "countries": ["VN"]}
    made = await http.post("/api/v1/subscribers", json=wanted, headers=bearer())
    assert made.status_code == 200, made.text
    exported = (await http.get("/api/v1/subscribers.csv", headers=bearer())).text
    assert "\n'=cmd@readers.example," in exported


async def test_one_readers_mail_and_an_unsubscribe_from_the_api(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    _, _, http = desk
    form = {"email": READER, "countries": ["VN"], "frequency": "immediate"}
    assert (await http.post("/subscribe", headers=SAME_SITE, data=form)).status_code == 200
    mail = await http.get(f"/api/v1/subscribers/{READER.lower()}/messages", headers=bearer())
    assert mail.status_code == 200
    assert [(m["kind"], m["status"]) for m in mail.json()] == [("confirm", "queued")]
    wanted = {"email": "stop@readers.example", "countries": ["LA"]}
    await http.post("/api/v1/subscribers", json=wanted, headers=bearer())
    stopped = await http.post(
        "/api/v1/subscribers/stop@readers.example/unsubscribe", headers=bearer()
    )
    assert stopped.json()["status"] == "unsubscribed"
    missing = await http.get("/api/v1/subscribers/nobody@x.example/messages", headers=bearer())
    assert missing.status_code == 404


def test_the_command_line_imports_exports_and_shows_a_readers_mail(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.harness import Harness

    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    readers = tmp_path / "readers.csv"
    readers.write_text(CSV)
    status, out, err = harness.cli("subscribers", "import", str(readers), "--consent")
    assert status == 2  # some rows refused, each named
    assert "watcher: line 4: 'not-an-address' is not an email address" in err
    assert "Imported: 2 added (consent stated), 4 refused." in out
    status, out, _ = harness.cli("subscribers", "export")
    assert status == 0
    assert out.splitlines()[0].startswith("email,countries,sections")
    assert "one@readers.example,LA;VN,,,,daily,active,import," in out
    status, out, _ = harness.cli("subscribers", "import", str(readers))
    assert "2 already followed all of it" in out
    status, out, _ = harness.cli("subscribers", "mail", "one@readers.example")
    assert (status, out.strip()) == (0, "No mail for one@readers.example yet.")
    harness.cli("subscribe", "fresh@readers.example", "VN")
    status, _, err = harness.cli("subscribers", "mail", "nobody@readers.example")
    assert status == 2
    assert "nobody@readers.example is not a subscriber" in err
    status, _, err = harness.cli("subscribers", "import", str(tmp_path / "missing.csv"))
    assert status == 2
    assert "No such file" in err
