"""A worker on another host dies with kill -9 in the middle of a pass and of a delivery: its
sources and its messages are taken over by a worker here within the lease (about a minute),
nothing is lost, and only the messages it had in flight can repeat.

The dead worker runs in a UTS namespace of its own under another host name, as a container on
another machine would: its claims cannot be seen to be stale (its process is not ours to
look at), only left to expire. On the real PostgreSQL; needs root for `unshare`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import write_config
from tests.mailing import queue_notes
from tests.servers import ScriptedServer, reply
from tests.service import Running, on_another_host, start
from tests.smtp import PASSWORD, MailServer, free_port
from watcher.app import open_app
from watcher.loading import build_config

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(os.geteuid() != 0, reason="a UTS namespace of its own needs root"),
]

PAGES = 20
MESSAGES = 30
CONNECTIONS = 2
LEASE = 60.0  # seconds: max(60 s, 2 x checks.timeout), max(60 s, 2 x mail.timeout)


def config_data(scripted: ScriptedServer, mail: MailServer, database: str) -> dict[str, Any]:
    return {
        "service": {"database": database, "listen": f"127.0.0.1:{free_port()}"},
        "checks": {"interval": "1h", "jitter": "0s", "timeout": "5s"},
        "mail": {  # 30 s (the default): a lease of a minute, where a batch of timeouts was 6
            **mail.settings(),
            "timeout": "30s",
            "connections": CONNECTIONS,
            "batch_size": 10,
        },
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": f"p{n}", "url": scripted.url(f"/p{n}.html")} for n in range(PAGES)
                ],
            }
        ],
    }


def config_file(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir()
    return write_config(folder, data)


def ask(database: str, query: str) -> Any:
    async def run() -> Any:
        connection = await asyncpg.connect(database)
        try:
            return await connection.fetchval(query)
        finally:
            await connection.close()

    return asyncio.run(run())


def test_a_worker_killed_on_another_host_hands_over_within_the_lease(
    scripted: ScriptedServer,
    mail_server: MailServer,
    postgres_url: str,
    tmp_path: Path,
    running: list[Running],
) -> None:
    hang = threading.Event()  # set: the site answers again

    def page(handler: BaseHTTPRequestHandler) -> None:
        hang.wait(timeout=60)  # the first worker's requests are in flight when it dies
        reply(handler, 200, f"<html><body><p>{handler.path}</p></body></html>".encode())

    for n in range(PAGES):
        scripted.routes[f"/p{n}.html"] = page
    data = config_data(scripted, mail_server, postgres_url)
    settings = build_config(data, {"WATCHER_MAIL__PASSWORD": PASSWORD}, tmp_path / "w.toml")

    async def prepare() -> None:
        async with open_app(settings) as app:
            await queue_notes(app, MESSAGES)

    asyncio.run(prepare())
    mail = mail_server.sink
    mail.hold, mail.hold_after = threading.Event(), 3  # the 4th DATA on waits: in flight

    there = start(config_file(tmp_path / "there", data), on_another_host("elsewhere"))
    running.append(there)
    claimed = (
        f"SELECT (SELECT count(*) FROM sources WHERE claimed_by LIKE 'elsewhere:%') = {PAGES}"
        " AND (SELECT count(*) FROM messages WHERE claimed_by LIKE 'elsewhere:%') > 0"
    )
    there.wait_for(
        lambda: mail.holding.is_set() and ask(postgres_url, claimed),
        timeout=30,
        what="the worker on the other host to hold sources and messages",
    )
    there.process.kill()
    there.process.wait()
    killed = time.monotonic()
    in_flight = CONNECTIONS  # at most one message per connection was being sent

    hang.set()
    held = mail.hold
    held.set()
    time.sleep(0.3)  # the held conversations answer their dead client and end
    mail.hold = None

    here_data = {**data, "service": {**data["service"], "listen": f"127.0.0.1:{free_port()}"}}
    here = start(config_file(tmp_path / "here", here_data))
    running.append(here)
    everything_done = (
        f"SELECT (SELECT count(*) FROM sources WHERE status = 'ok') = {PAGES}"
        f" AND (SELECT count(*) FROM messages WHERE status = 'sent') = {MESSAGES}"
    )
    here.wait_for(
        lambda: ask(postgres_url, everything_done),
        timeout=LEASE + 40,
        what="the worker here to check every source and send every message",
    )
    took = time.monotonic() - killed
    print(f"taken over and done {took:.1f} s after the kill")
    assert here.stop()[0] == 0

    assert took <= LEASE + 15, f"taken over after {took:.0f} s"
    counts = Counter(str(item.message["Message-ID"]) for item in mail.received)
    assert len(counts) == MESSAGES  # nothing lost
    assert sum(count - 1 for count in counts.values()) <= in_flight
    assert ask(postgres_url, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL") == 0
    assert ask(postgres_url, "SELECT count(*) FROM sources WHERE failures > 0") == 0
