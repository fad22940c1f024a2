"""The database's disk fills up (a small tmpfs, mounted by the test as root) in the middle of
a pass and in the middle of delivery, under a real `watcher check` process.

Each must end with one clear line (`watcher: database error: database or disk is full`),
exit status 1, no traceback and no hang; nothing is marked sent that was not; and when space
returns, the next run records every change exactly once and delivers every message.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.servers import ScriptedServer, reply
from tests.service import Running, start
from tests.smtp import PASSWORD, MailServer, free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

PAGES = 30


class Disk:
    """A tmpfs of a few MB; `fill()` takes all the space left, `free()` gives it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        with self.filler.open("ab") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(path)], check=True)
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def page(revision: int, number: int) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i} of page {number}, revision {revision}.</p>" for i in range(60)
    )
    return f"<html><body><h2>Policy</h2>{paragraphs}</body></html>".encode()


def site(server: ScriptedServer, revision: list[int], when: Callable[[int], None]) -> None:
    lock = threading.Lock()
    served = [0]

    def route(number: int) -> Callable[[BaseHTTPRequestHandler], None]:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            with lock:
                served[0] += 1
                count = served[0]
            when(count)
            reply(handler, 200, page(revision[0], number))

        return answer

    for number in range(PAGES):
        server.routes[f"/p{number}.html"] = route(number)


def configure(tmp: Path, disk: Disk, server: ScriptedServer, mail: MailServer) -> Path:
    port = free_port()
    data = {
        "service": {
            "database": f"sqlite:///{disk.path / 'w.db'}",
            "listen": f"127.0.0.1:{port}",
            "public_url": f"http://127.0.0.1:{port}",
        },
        "checks": {"timeout": "5s", "concurrency": 4, "per_host": 4, "retry": "1s"},
        "mail": {**mail.settings(), "connections": 4, "batch_size": 5, "retry": "1s"},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": f"p{n}", "url": server.url(f"/p{n}.html")} for n in range(PAGES)
                ],
            }
        ],
        "subscribers": [
            {"email": f"reader{n}@readers.example", "countries": ["VN"]} for n in range(40)
        ],
    }
    return write_config(tmp, data)


def watcher(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATCHER_MAIL__PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "watcher", "--config", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=90)


def assert_clear_failure(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "watcher: database error: database or disk is full" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "InvalidStateError" not in done.stderr


def database(disk: Disk) -> sqlite3.Connection:
    return sqlite3.connect(disk.path / "w.db")


def truncate_wal(disk: Disk) -> None:
    """Empty the write-ahead log, so that the next commits must grow it: SQLite reuses the
    space a log already holds, and a full disk would only bite once that is used up."""
    with database(disk) as db:
        assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0


def test_a_full_disk_during_a_pass(
    disk: Disk, scripted: ScriptedServer, mail_server: MailServer, tmp_path: Path
) -> None:
    revision = [1]
    trigger = [0]  # fill the disk at this request (0: never)
    site(scripted, revision, lambda count: disk.fill() if count == trigger[0] else None)
    config = configure(tmp_path, disk, scripted, mail_server)
    assert watcher(config, "check", "--all", "--no-send").returncode == 0

    revision[0] = 2  # every page changes; the disk fills while the 12th is fetched
    trigger[0] = PAGES + 12
    truncate_wal(disk)
    assert_clear_failure(watcher(config, "check", "--all", "--no-send"))

    disk.free()
    done = watcher(config, "check", "--all", "--no-send")
    assert done.returncode == 0, done.stderr
    with database(disk) as db:
        changes = db.execute("SELECT source_id, count(*) FROM changes GROUP BY source_id")
        assert sorted(changes.fetchall()) == sorted((f"p{n}", 1) for n in range(PAGES))
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def open_connections(port: int) -> int:
    """Established TCP connections to `port` on 127.0.0.1, as the kernel lists them."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if int(local.split(":")[1], 16) == port and state == "01":
            count += 1
    return count


def test_a_full_disk_during_delivery(
    disk: Disk,
    scripted: ScriptedServer,
    mail_server: MailServer,
    tmp_path: Path,
    running: list[Running],
) -> None:
    revision = [1]
    site(scripted, revision, lambda count: None)
    config = configure(tmp_path, disk, scripted, mail_server)
    for revision[0] in (1, 2, 3):  # 40 messages queued at r2, 40 more at r3
        assert watcher(config, "check", "--all", "--no-send").returncode == 0

    mail_server.sink.delay = 0.02
    mail_server.sink.after_each = lambda count: disk.fill() if count == 7 else None
    truncate_wal(disk)
    service = start(config)
    running.append(service)
    service.wait_for(
        lambda: any("disk is full" in r["message"] + r.get("error", "") for r in service.records()),
        timeout=30,
        what="the failed commit to be logged",
    )
    # Every lane closed its SMTP connection: none waits for a result nobody will set.
    service.wait_for(
        lambda: open_connections(mail_server.port) == 0, timeout=10, what="connections closed"
    )
    received = {str(item.message["Message-ID"]) for item in mail_server.received}
    with database(disk) as db:
        marked = {
            row[0] for row in db.execute("SELECT message_id FROM messages WHERE status='sent'")
        }
    assert marked <= received  # nothing is marked sent that was not

    disk.free()  # the service resumes by itself: no lane is stuck holding the outbox
    mail_server.sink.after_each = None
    # Within a few drains, not after the failed run's leases (35 s) expire.
    service.wait_for(lambda: queued(disk) == 0, timeout=20, what="the outbox to empty")
    assert service.stop()[0] == 0
    assert "Traceback" not in service.log()
    with database(disk) as db:
        every = {row[0] for row in db.execute("SELECT message_id FROM messages")}
        assert dict(db.execute("SELECT status, count(*) FROM messages GROUP BY status")) == {
            "sent": len(every)
        }
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    ids = [str(item.message["Message-ID"]) for item in mail_server.received]
    assert set(ids) == every  # none lost
    assert len(ids) - len(every) <= 4  # repeated: at most what each connection had in flight


def queued(disk: Disk) -> int:
    with database(disk) as db:
        return int(db.execute("SELECT count(*) FROM messages WHERE status='queued'").fetchone()[0])
