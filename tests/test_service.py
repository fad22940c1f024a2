"""`watcher run` as a real process: mail without manual steps, clean stops, restarts, reload."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import write_config
from tests.servers import ScriptedServer, slow
from tests.service import Running, service_data, start
from tests.smtp import MailServer, free_port
from watcher.demo.site import SiteServer


def all_checked(service: Running) -> bool:
    return all(source["status"] == "ok" for source in service.api("/sources"))


def test_the_service_mails_an_update_by_itself_and_stops_cleanly(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    data = service_data(site, mail_server, tmp_path)
    data["subscribers"] = data["subscribers"][:1]  # the editor, who follows every country
    service = start(write_config(tmp_path, data))
    running.append(service)
    service.wait_for(lambda: all_checked(service), timeout=20, what="baselines")
    site.revision = "r2"
    service.wait_for(lambda: len(mail_server.received) >= 2, timeout=30, what="two emails")
    subjects = sorted(str(item.message["Subject"]) for item in mail_server.received)
    assert subjects[0].startswith("Lao PDR: entry updated")
    assert subjects[1].startswith("Vietnam: country profile updated")
    status, seconds = service.stop()
    assert status == 0
    assert seconds < 5
    records = service.records()
    checks = [r for r in records if r.get("logger") == "watcher.check"]
    assert checks
    assert {"source", "outcome", "duration"} <= set(checks[0])
    deliveries = [r for r in records if r.get("logger") == "watcher.delivery"]
    assert {r["outcome"] for r in deliveries} == {"sent"}
    text = service.log()
    assert "s3cret-pw" not in text  # the SMTP password never reaches a log
    assert records[-1]["message"] == "stopped"
    with sqlite3.connect(tmp_path / "w.db") as db:  # nothing lost, nothing left claimed
        assert db.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall() == [
            ("sent", 2)
        ]
        assert db.execute(
            "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL"
        ).fetchone() == (0,)


def test_a_restart_checks_only_what_is_due(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    config = write_config(tmp_path, service_data(site, mail_server, tmp_path, interval="6h"))
    service = start(config)
    running.append(service)
    service.wait_for(lambda: all_checked(service), timeout=20, what="baselines")
    assert service.stop()[0] == 0
    before = dict(site.requests)
    with sqlite3.connect(tmp_path / "w.db") as db:  # two sources became overdue meanwhile
        db.execute(
            "UPDATE sources SET next_check_at = ? WHERE id IN ('la-profile', 'la-updates')",
            ((datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat(" "),),
        )
    again = start(config)
    running.append(again)
    again.wait_for(
        lambda: (
            site.requests["/cp/lao-pdr.atom"] > before["/cp/lao-pdr.atom"]
            and site.requests["/cp/lao-pdr.html"] > before["/cp/lao-pdr.html"]
        ),
        timeout=15,
        what="the overdue sources to be checked",
    )
    time.sleep(3)
    assert site.requests["/cp/vietnam.html"] == before["/cp/vietnam.html"]  # not due: left alone
    assert site.requests["/news.rss"] == before["/news.rss"]
    checks = [r for r in again.records() if r.get("logger") == "watcher.check"]
    assert sorted(r["source"] for r in checks) == ["la-profile", "la-updates"]  # each once
    assert again.stop()[0] == 0


def test_an_idle_worker_sleeps(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    """With nothing due the worker sleeps until the next due time: a few queries every
    drain, not a loop. (It once claimed nothing again and again at 95% of a core.)"""
    config = write_config(tmp_path, service_data(site, mail_server, tmp_path, interval="6h"))
    service = start(config)
    running.append(service)
    service.wait_for(lambda: all_checked(service), timeout=20, what="baselines")
    time.sleep(2)  # the first drain and its gauges
    stat = Path(f"/proc/{service.process.pid}/stat")

    def cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before, started = cpu(), time.monotonic()
    time.sleep(10)
    used = (cpu() - before) / (time.monotonic() - started)
    assert used < 0.03, f"{used:.1%} of a core while idle"
    assert service.stop()[0] == 0


def test_sighup_reloads_the_configuration(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    data = service_data(site, mail_server, tmp_path, interval="6h")
    laos = data["countries"].pop(1)
    config = write_config(tmp_path, data)
    service = start(config)
    running.append(service)
    service.wait_for(lambda: all_checked(service), timeout=20, what="baselines")
    assert site.requests["/cp/lao-pdr.html"] == 0

    config.write_text(config.read_text() + "\n[[countries]]\nname = \n")  # broken on purpose
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: "reload refused" in service.log(), timeout=10, what="a refusal")
    assert service.healthy()

    data["countries"].append(laos)
    write_config(tmp_path, data)
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: site.requests["/cp/lao-pdr.html"] > 0, timeout=15, what="Lao PDR")
    service.wait_for(lambda: len(service.api("/sources")) == 5, timeout=5, what="five sources")
    del data["countries"][0]  # Vietnam goes away: its sources stop
    write_config(tmp_path, data)
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: len(service.api("/sources")) == 3, timeout=10, what="three sources")
    assert service.stop()[0] == 0


def test_sigterm_abandons_a_stuck_check_cleanly(
    scripted: ScriptedServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    scripted.routes["/slow"] = slow(60)
    data: dict[str, Any] = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"timeout": "90s", "jitter": "0s"},
        "mail": mail_server.settings(),
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "stuck", "url": scripted.url("/slow")}],
            }
        ],
    }
    port = free_port()
    data["service"].update(listen=f"127.0.0.1:{port}", public_url=f"http://127.0.0.1:{port}")
    service = start(write_config(tmp_path, data))
    running.append(service)
    service.wait_for(lambda: scripted.count("/slow") == 1, timeout=15, what="the check to start")
    status, seconds = service.stop()
    assert status == 0
    assert seconds < 8
    with sqlite3.connect(tmp_path / "w.db") as db:
        row = db.execute("SELECT status, claimed_by, content_hash FROM sources").fetchone()
    assert row == ("new", None, None)  # nothing half-written, the claim given back


def sign_in_answers(service: Running, forwarded_for: list[str]) -> list[int]:
    """The status of one failed sign-in per X-Forwarded-For value, in order."""
    answers = []
    for address in forwarded_for:
        response = httpx.post(
            f"{service.base}/editor/sign-in",
            data={"email": "nobody@example.org", "password": "wrong"},
            headers={"Sec-Fetch-Site": "same-origin", "X-Forwarded-For": address},
            timeout=10,
        )
        answers.append(response.status_code)
    return answers


def test_forwarded_headers_count_only_from_trusted_proxies(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    """By default nobody's X-Forwarded-For is believed: rotating it does not lift the limit
    on sign-ins from one client. Behind a configured proxy, its header names the client."""
    rotating = [f"198.51.100.{n}" for n in range(12)]
    data = service_data(site, mail_server, tmp_path)
    service = start(write_config(tmp_path, data))
    running.append(service)
    assert sign_in_answers(service, rotating)[-2:] == [429, 429]
    service.stop()

    data["service"]["trusted_proxies"] = ["127.0.0.1"]
    proxied = start(write_config(tmp_path, data))
    running.append(proxied)
    assert 429 not in sign_in_answers(proxied, rotating)  # twelve clients behind the proxy
    assert sign_in_answers(proxied, ["203.0.113.9"] * 12)[-2:] == [429, 429]
