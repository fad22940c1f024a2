"""SMTP servers that refuse at the door: 421 at the greeting, or a greeting and then silence.
Mail waits (nothing lost, no try wasted on a message never offered) and goes out once the
real server is back. The per-message refusals (451, 550, 421 after DATA), an outage and a
kill mid-delivery are in tests/test_mail.py."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Clock
from tests.mailing import START, cycle, mail_config, outbox, readers, received_ids
from tests.smtp import MailServer
from watcher.app import open_app
from watcher.demo.site import SiteServer


class DoorServer:
    """Accepts connections and answers each with `greeting` (then closes), or says nothing."""

    def __init__(self, greeting: bytes | None) -> None:
        self.greeting = greeting
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.greeting is None:
                self.open.append(client)  # silence until the client gives up
                continue
            client.sendall(self.greeting)
            client.close()

    def close(self) -> None:
        self.sock.close()
        for client in self.open:
            client.close()


@pytest.fixture(params=[b"421 4.3.2 Too busy, try later\r\n", None], ids=["421", "silent"])
def door(request: pytest.FixtureRequest) -> Iterator[DoorServer]:
    server = DoorServer(request.param)
    yield server
    server.close()


async def test_a_server_refusing_at_the_door_delays_mail_and_loses_none(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, door: DoorServer
) -> None:
    clock = Clock(START)
    refusing = mail_config(
        site, mail_server, tmp_path, readers(3), port=door.port, security="none", timeout="2s"
    )
    async with open_app(refusing, clock=clock) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying, report.failed) == (0, 3, 0)
        queued = (await outbox(app))["queued"]
        assert len(queued) == 3
        reason = queued[0].last_error or ""
        assert ("421" in reason) if door.greeting else ("timed out" in reason.lower()), reason
    assert door.connections >= 1

    up = mail_config(site, mail_server, tmp_path, readers(3))
    async with open_app(up, clock=clock) as app:
        clock.advance(minutes=10)
        report = await cycle(app, site)
        assert report.sent == 3
    ids = received_ids(mail_server)
    assert len(ids) == len(set(ids)) == 3


async def test_451_and_550_per_recipient(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    """Greylisting (451 at RCPT) delays one reader's mail; a 550 at RCPT fails another's,
    tried once; the rest goes out once."""
    clock = Clock(START)
    grey, gone = "grey@readers.example", "gone@readers.example"
    people = [
        *readers(2),
        {"email": grey, "countries": ["VN"]},
        {"email": gone, "countries": ["VN"]},
    ]
    mail_server.sink.refuse_recipients.update(
        {grey: "451 4.7.1 Greylisted, try again later", gone: "550 5.1.1 No such user"}
    )
    async with open_app(mail_config(site, mail_server, tmp_path, people), clock=clock) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying, report.failed) == (2, 1, 1)
        del mail_server.sink.refuse_recipients[grey]  # the greylist lets it through now
        for _ in range(3):
            clock.advance(hours=1)
            await cycle(app, site)
        by_status = await outbox(app)
    assert sorted(m.recipient for m in by_status["sent"]) == sorted(
        [grey, *(p["email"] for p in readers(2))]
    )
    [failed] = by_status["failed"]
    assert (failed.recipient, failed.attempts) == (gone, 1)
    assert mail_server.sink.rcpt_seen.count(gone) == 1  # a 5xx is tried once
    ids = received_ids(mail_server)
    assert len(ids) == len(set(ids)) == 3
