"""Email end to end: the example site through a real SMTP server with STARTTLS and AUTH."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Clock, demo_data
from tests.harness import Harness
from tests.mailing import START, cycle, mail_config, outbox, readers, received_ids
from tests.smtp import PASSWORD, MailServer, free_port
from watcher.app import open_app
from watcher.demo.site import SiteServer
from watcher.store import read_transaction
from watcher.store.subscribers import list_subscribers

SUBSCRIBERS = [
    {"email": "vietnam@readers.example", "countries": ["VN"]},
    {"email": "laos@readers.example", "countries": ["LA"]},
    {"email": "both@readers.example", "countries": ["VN", "LA"]},
]
PAYLOAD = '<script>alert("owned")</script>'


def mail_harness(
    site: SiteServer, server: MailServer, tmp_path: Path, capsys: Any, **mail: Any
) -> Harness:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["service"]["public_url"] = "https://monitor.example"
    data["mail"] = {**server.settings(), **mail}
    data["subscribers"] = SUBSCRIBERS
    return Harness(tmp_path, data, capsys)


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_the_example_site_reaches_each_subscriber_as_the_fixture_says(
    hostile_site: SiteServer,
    mail_server: MailServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_MAIL__PASSWORD", PASSWORD)
    harness = mail_harness(hostile_site, mail_server, tmp_path, capsys)
    status, out = harness.check()
    assert status == 0
    assert mail_server.received == []  # r1: baselines, nobody is told

    hostile_site.revision = "r2"
    status, out = harness.check()
    assert status == 0
    assert "Mail: 4 queued; 4 sent" in out
    subjects = {
        address: sorted(str(m["Subject"]) for m in mail_server.to(address))
        for address in ("vietnam@readers.example", "laos@readers.example", "both@readers.example")
    }
    vietnam = "Vietnam: country profile updated (Mine Ban Policy, Cluster Munition Ban Policy)"
    laos = "Lao PDR: entry updated: Lao PDR submits Article 7 transparency report (corrected)"
    assert subjects == {
        "vietnam@readers.example": [vietnam],
        "laos@readers.example": [laos],
        "both@readers.example": sorted([vietnam, laos]),
    }

    [message] = mail_server.to("vietnam@readers.example")
    assert message["From"] == "Monitor updates <updates@monitor.example>"
    assert message["To"] == "vietnam@readers.example"
    assert message["Date"]
    assert re.fullmatch(r"<[^<>@\s]+@monitor\.example>", message["Message-ID"])
    assert message["List-Id"] == "Vietnam updates <vn.monitor.example>"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://monitor.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] == message["References"] == "<updates.vn@monitor.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]

    text, html = text_of(message), html_of(message)
    for part in (text, html):
        assert "Mine Ban Policy" in part
        assert "Cluster Munition Ban Policy" in part
        assert "02 November 2011" in part
        assert "29 October 2012" in part
        assert "Country profile updated: Vietnam" in part  # the new news item
        assert "https://monitor.example/changes/" in part
        assert unsubscribe.strip("<>") in part
    assert re.search(r"<del\b[^>]*>65/48</del><ins\b[^>]*>66/29</ins>", html)
    assert re.search(r"<del\b[^>]*>02 November 2011</del>", html)
    assert re.search(r"<del\b[^>]*text-decoration: line-through", html)  # meaning without colour
    assert re.search(r"<ins\b[^>]*text-decoration: underline", html)
    assert "[-65/48-]{+66/29+}" in text
    assert re.search(
        r"<ins\b[^>]*>Vietnam has not joined the Convention on Cluster Munitions", html
    )
    assert "<script" not in html.lower()
    assert '&lt;script&gt;alert("owned")&lt;/script&gt;' in html
    assert PAYLOAD in text  # plain text shows it as the harmless text it is
    assert "<style>" not in html.split("</head>")[1]  # styles are inline in the body
    assert 'style="' in html
    assert len(message.as_bytes()) < 100_000

    [both_vietnam] = [
        m for m in mail_server.to("both@readers.example") if "Vietnam" in m["Subject"]
    ]
    assert "Lao PDR" not in str(both_vietnam["Subject"])
    assert both_vietnam["List-Unsubscribe"] != message["List-Unsubscribe"]  # a token each

    hostile_site.revision = "r3"
    received = len(mail_server.received)
    status, out = harness.check()
    assert status == 0
    assert len(mail_server.received) == received  # r3: nothing at all

    status, out, _ = harness.cli("outbox")
    assert "Outbox: 0 queued, 4 sent, 0 failed, 0 cancelled." in out


async def test_an_smtp_outage_delays_mail_and_loses_none(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(START)
    down = mail_config(site, mail_server, tmp_path, readers(3), port=free_port())  # no server
    async with open_app(down, clock=clock) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying, report.failed) == (0, 3, 0)
        assert "cannot reach the SMTP server" in report.errors[0]
        queued = (await outbox(app))["queued"]
        assert len(queued) == 3
        assert all(m.attempts == 1 and m.next_attempt_at > START for m in queued)

    up = mail_config(site, mail_server, tmp_path, readers(3))  # the server is back
    async with open_app(up, clock=clock) as app:
        assert (await cycle(app, site)).attempted == 0  # not due yet: backoff
        clock.advance(minutes=5)
        report = await cycle(app, site)
        assert report.sent == 3
        assert len(received_ids(mail_server)) == len(set(received_ids(mail_server))) == 3
        clock.advance(days=1)
        assert (await cycle(app, site)).attempted == 0


async def test_the_mail_retry_schedule_is_configurable(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(START)
    down = mail_config(
        site,
        mail_server,
        tmp_path,
        readers(1),
        port=free_port(),
        retry="10m",
        max_retry_interval="30m",
    )
    async with open_app(down, clock=clock) as app:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")  # the first try fails: nobody listens on that port
        waits = []
        for _ in range(4):
            [message] = (await outbox(app))["queued"]
            waits.append((message.next_attempt_at - clock.now).total_seconds() / 60)
            clock.now = message.next_attempt_at
            await cycle(app, site)
    expected = [10, 20, 30, 30]  # mail.retry doubling, capped at mail.max_retry_interval
    assert all(0.79 * e <= w <= 1.21 * e for w, e in zip(waits, expected, strict=True)), waits


async def test_421_451_and_550_are_retried_or_recorded(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(START)
    people = [*readers(4), {"email": "gone@readers.example", "countries": ["VN"]}]
    config = mail_config(site, mail_server, tmp_path, people)
    mail_server.sink.refuse_recipients["gone@readers.example"] = (
        "550 5.1.1 <gone@readers.example>: no such user"
    )
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        # first DATA: 451; second: accepted; third: 421 (the server closes for now)
        mail_server.sink.data_replies = [
            "451 4.3.0 Try again later",
            None,
            "421 4.3.2 Shutting down",
        ]
        report = await cycle(app, site, "r2")
        assert report.sent == 1
        assert report.failed <= 1
        by_status = await outbox(app)
        assert [m.recipient for m in by_status.get("failed", [])] in ([], ["gone@readers.example"])
        assert "451 4.3.0 Try again later" in {m.last_error for m in by_status["queued"]}
        assert any("421" in (m.last_error or "") for m in by_status["queued"])

        for _ in range(6):
            clock.advance(hours=1)
            await cycle(app, site)
        by_status = await outbox(app)
        assert "queued" not in by_status
        [failed] = by_status["failed"]
        assert failed.recipient == "gone@readers.example"
        assert failed.last_error == "550 5.1.1 <gone@readers.example>: no such user"
        assert failed.attempts == 1  # a permanent refusal is not retried
        assert mail_server.sink.rcpt_seen.count("gone@readers.example") == 1
        assert len(by_status["sent"]) == 4
        ids = received_ids(mail_server)
        assert len(ids) == len(set(ids)) == 4  # nothing lost, nothing sent twice


async def test_repeated_hard_bounces_suspend_the_subscription(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(START)
    people = [{"email": "gone@readers.example", "countries": ["VN", "LA"]}]
    config = mail_config(site, mail_server, tmp_path, people, hard_bounce_limit=2)
    mail_server.sink.refuse_recipients["gone@readers.example"] = "550 5.1.1 no such user"
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")  # two messages: Vietnam and Lao PDR
        assert report.failed == 2
        assert report.suspended == ["gone@readers.example"]
        async with read_transaction(app.engine) as connection:
            [person] = await list_subscribers(connection, include_inactive=True)
        assert (person.status, person.hard_bounces) == ("suspended", 2)


async def test_temporary_failures_are_retried_for_days_then_given_up(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(START)
    config = mail_config(site, mail_server, tmp_path, readers(1), give_up_after="2d")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        mail_server.sink.data_replies = ["452 4.2.2 Mailbox full"] * 1000
        await cycle(app, site, "r2")
        attempts = []
        for _ in range(40):
            clock.advance(hours=2)
            await cycle(app, site)
            [message] = [m for ms in (await outbox(app)).values() for m in ms]
            attempts.append(message.attempts)
            if message.status != "queued":
                break
        assert message.status == "failed"
        assert message.last_error is not None
        assert message.last_error.startswith("gave up after")
        assert "452 4.2.2 Mailbox full" in message.last_error
        assert 5 < message.attempts < 40  # backed off, not hammered every two hours
        assert mail_server.received == []


def test_delivery_killed_halfway_resumes_without_duplicates(
    site: SiteServer,
    mail_server: MailServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_MAIL__PASSWORD", PASSWORD)
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = mail_server.settings()
    data["subscribers"] = readers(12)
    harness = Harness(tmp_path, data, capsys)
    harness.check()
    site.revision = "r2"
    mail_server.sink.hold = threading.Event()
    mail_server.sink.hold_after = 5
    command = [sys.executable, "-m", "watcher", "--config", str(harness.path), "check", "--all"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert mail_server.sink.holding.wait(timeout=60), "delivery never reached message 6"
        process.kill()  # SIGKILL: no cleanup, mid-conversation with the SMTP server
        process.wait(timeout=10)
    finally:
        mail_server.sink.hold.set()
    first_run = received_ids(mail_server)
    assert len(first_run) == 5
    recorded = [m for m in json.loads(harness.cli("outbox", "--json")[1]) if m["status"] == "sent"]
    assert sorted(m["message_id"] for m in recorded) == sorted(first_run)

    mail_server.sink.hold = None
    result = subprocess.run(command[:-1], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "7 sent" in result.stdout
    every = received_ids(mail_server)
    assert len(every) == len(set(every)) == 12
    assert every[:5] == first_run


async def test_a_surprise_in_one_email_delays_that_message_and_nothing_else(
    site: SiteServer,
    mail_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception nobody expected while sending one email (a bug, a library's surprise) is
    that message's temporary failure, logged with its traceback: the other emails of the
    batch and of the run are sent, nothing is lost (it ended every lane of the run)."""
    from watcher.notify.channels.email import SmtpTransport

    sending = SmtpTransport.send

    async def surprising(self: SmtpTransport, message: Any) -> None:
        if message.recipient == "reader1@readers.example":
            raise RuntimeError("a library's surprise")
        await sending(self, message)

    clock = Clock(START)
    config = mail_config(site, mail_server, tmp_path, readers(3))
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        monkeypatch.setattr(SmtpTransport, "send", surprising)
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying, report.failed) == (2, 1, 0)
        [waiting] = (await outbox(app))["queued"]
        assert waiting.recipient == "reader1@readers.example"
        assert waiting.last_error == "internal error: RuntimeError"
        assert "a library's surprise" in caplog.text  # the traceback, for the operator
        monkeypatch.setattr(SmtpTransport, "send", sending)
        clock.advance(minutes=10)
        assert (await cycle(app, site)).sent == 1
    ids = received_ids(mail_server)
    assert len(ids) == len(set(ids)) == 3


async def test_a_surprise_opening_the_connection_delays_the_batch_and_loses_none(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watcher.notify.channels.email import SmtpTransport

    async def surprising(self: SmtpTransport) -> None:
        raise KeyError("nobody expected this")

    clock = Clock(START)
    config = mail_config(site, mail_server, tmp_path, readers(2))
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        opening = SmtpTransport.open
        monkeypatch.setattr(SmtpTransport, "open", surprising)
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying) == (0, 2)
        assert {m.last_error for m in (await outbox(app))["queued"]} == {"internal error: KeyError"}
        monkeypatch.setattr(SmtpTransport, "open", opening)
        clock.advance(minutes=10)
        assert (await cycle(app, site)).sent == 2
    assert len(received_ids(mail_server)) == 2
