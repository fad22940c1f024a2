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
