"""Delivery under fire: real `watcher run` processes stopped with SIGTERM or killed with
SIGKILL at random moments while they mail 100 readers through a slow SMTP server.

- SIGTERM, repeated: every stop exits 0 with no traceback, and no message is sent twice.
- SIGKILL, repeated: no message is lost, at most `mail.connections` are repeated per kill,
  and the database passes `PRAGMA integrity_check`.

The number of rounds is `WATCHER_FAULT_ROUNDS` (5 in CI; the README gives a longer run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import PASSWORD, MailServer
from watcher.demo.site import SiteServer

ROUNDS = int(os.environ.get("WATCHER_FAULT_ROUNDS", "5"))
# Each reader follows every country: two messages at r2. A round lets a dozen or two go
# before its signal lands (and 4 in flight): the mail must outlast the rounds.
READERS = max(50, 25 * ROUNDS)
CONNECTIONS = 4
RESULTS = Path(__file__).parent / "last-run-delivery.json"


def queue_mail(site: SiteServer, mail: MailServer, tmp_path: Path) -> Path:
    """A database with 2 x READERS messages queued, and a configuration to deliver them."""
    data = service_data(site, mail, tmp_path, interval="6h")
    data["mail"].update(connections=CONNECTIONS, batch_size=10, retry="1s")
    data["subscribers"] = [
        {"email": f"reader{n}@readers.example", "countries": ["*"]} for n in range(READERS)
    ]
    config = write_config(tmp_path, data)
    env = {**os.environ, "WATCHER_MAIL__PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "watcher", "--config", str(config), "check", "--all"]
    for revision in ("r1", "r2"):
        site.revision = revision
        done = subprocess.run(
            [*command, "--no-send"], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
    assert queued(tmp_path) == 2 * READERS
    return config


def queued(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "w.db") as db:
        return int(db.execute("SELECT count(*) FROM messages WHERE status='queued'").fetchone()[0])


def delivered(mail: MailServer) -> Counter[str]:
    return Counter(str(item.message["Message-ID"]) for item in mail.received)


def statuses(tmp_path: Path) -> dict[str, int]:
    with sqlite3.connect(tmp_path / "w.db") as db:
        return dict(db.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall())


def interrupt_rounds(
    config: Path, mail: MailServer, running: list[Running], how: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Start the service, let it send a few messages, stop it with `how`; ROUNDS times."""
    rounds = []
    for _ in range(ROUNDS):
        before = len(mail.received)
        service = start(config)
        running.append(service)
        wanted = before + rng.randint(1, 12)
        service.wait_for(lambda w=wanted: len(mail.received) >= w, timeout=60, what="mail")
        time.sleep(rng.uniform(0, 0.08))  # land anywhere in a message's conversation
        sent = time.monotonic()
        service.process.send_signal(how)
        status = service.process.wait(timeout=30)
        service.log_file.close()
        rounds.append(
            {
                "status": status,
                "seconds": round(time.monotonic() - sent, 2),
                "traceback": "Traceback" in service.log(),
                "log": service.log()[-3000:],
            }
        )
    return rounds


def finish(config: Path, mail: MailServer, tmp_path: Path, running: list[Running]) -> None:
    service = start(config)
    running.append(service)
    service.wait_for(lambda: queued(tmp_path) == 0, timeout=120, what="the outbox to empty")
    assert service.stop()[0] == 0


def record(name: str, figures: dict[str, Any]) -> None:
    known = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    known[name] = figures
    RESULTS.write_text(json.dumps(known, indent=1))


def under_fire(
    how: int, site: SiteServer, mail: MailServer, tmp_path: Path, running: list[Running]
) -> tuple[list[dict[str, Any]], Counter[str], int]:
    """Queue the mail, interrupt the service with `how` ROUNDS times, let one run finish:
    the rounds, how often each message arrived, and how many arrivals were repeats."""
    config = queue_mail(site, mail, tmp_path)
    mail.sink.delay = 0.05  # a slow server: the signal lands in the middle of conversations
    rounds = interrupt_rounds(config, mail, running, how, random.Random(how))
    finish(config, mail, tmp_path, running)
    counts = delivered(mail)
    return rounds, counts, sum(count - 1 for count in counts.values())


def test_sigterm_during_delivery_repeats_nothing(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    rounds, counts, repeats = under_fire(signal.SIGTERM, site, mail_server, tmp_path, running)
    record(
        "sigterm",
        {
            "rounds": len(rounds),
            "messages": len(counts),
            "repeated": repeats,
            "slowest_stop_s": max(r["seconds"] for r in rounds),
        },
    )
    for each in rounds:
        assert each["status"] == 0, each["log"]
        assert not each["traceback"], each["log"]
        assert each["seconds"] < 8
    assert repeats == 0, [mid for mid, n in counts.items() if n > 1]
    assert len(counts) == 2 * READERS  # nothing lost
    assert statuses(tmp_path) == {"sent": 2 * READERS}


def test_sigkill_during_delivery_loses_nothing(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    rounds, counts, repeats = under_fire(signal.SIGKILL, site, mail_server, tmp_path, running)
    record("sigkill", {"rounds": len(rounds), "messages": len(counts), "repeated": repeats})
    assert len(counts) == 2 * READERS  # nothing lost
    assert repeats <= CONNECTIONS * len(rounds)
    assert statuses(tmp_path) == {"sent": 2 * READERS}
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
