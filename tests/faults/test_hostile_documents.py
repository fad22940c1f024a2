"""One `watcher run` against documents made to stall or swell it, beside three plain pages:
a PDF naming one page 30,000 times, a PDF whose page tree loops, a 4.8 MB JSON array of
2.4 million values, a JSON body longer than `max_bytes`, a feed with "billion laughs"
entities, a jq program that never ends, a rendered page whose script never rests, and a
rendered page (on 127.0.0.3) that reaches for an internal service on 127.0.0.2.

Every hostile source is done (failed with its reason, or read safely) within its deadline
plus 2 s; the plain pages are checked in the same pass; `/healthz` answers within 1 s
throughout; the service (its extraction workers and Chromium included) stays under 800 MB of
memory (the proportional set size of its process tree, sampled every 0.2 s); and the
internal service sees no connection.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pdfs
from tests.conftest import write_config
from tests.servers import Listener, ScriptedServer, endless, static
from tests.service import Running, start
from watcher.fetch.footprint import descendants, pss_bytes

pytestmark = pytest.mark.browser

RESULTS = Path(__file__).parent / "last-run-hostile-documents.json"
EXTRACT_TIMEOUT = 5.0
TIMEOUT = 6.0
MEMORY_CEILING = 800_000_000


def laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{level} "{("&lol%s;" % (level - 1 if level > 1 else "")) * 10}">'
        for level in range(1, 10)
    )
    entities = entities.replace("&lol0;", "&lol;")
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>News &lol9;</title><item><title>Laughs &lol9;</title><guid>1</guid>"
        "<link>http://example.org/1</link></item></channel></rss>"
    ).encode()


NEVER_RESTS = b"<html><body><p>Busy.</p><script>while (true) {}</script></body></html>"


def reaching(internal: Listener) -> bytes:
    target = internal.url("")
    return (
        "<html><body><div id='content'><p>Reaching.</p></div><img src='" + target + "/i.png'>"
        "<script>fetch('" + target + "/api').catch(() => null);"
        "try { new WebSocket('" + target.replace("http", "ws") + "/ws'); } catch (e) {}"
        "</script></body></html>"
    ).encode()


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:60].decode()
    except OSError:
        return "?"


class Watch:
    """Samples, on a thread, the service's memory (PSS of its process tree) and how long
    `/healthz` takes to answer, until stopped."""

    def __init__(self, service: Running) -> None:
        self.service = service
        self.peak = 0
        self.breakdown: dict[str, int] = {}
        self.slowest = 0.0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        root = self.service.process.pid
        while not self._stop.is_set():
            parts = {pid: pss_bytes(pid) for pid in [root, *descendants(root)]}
            used = sum(parts.values())
            if used > self.peak:
                self.breakdown = {
                    f"{pid}:{_name(pid)}": round(size / 1e6) for pid, size in parts.items()
                }
            self.peak = max(self.peak, used)
            started = time.monotonic()
            try:
                answer = httpx.get(f"{self.service.base}/healthz", timeout=1)
                if answer.status_code != 200:
                    self.failures.append(f"/healthz answered {answer.status_code}")
            except httpx.HTTPError as exc:
                self.failures.append(f"/healthz: {type(exc).__name__}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_hostile_documents_are_each_one_failed_check(
    scripted: ScriptedServer, tmp_path: Path, running: list[Running]
) -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("WATCHER_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (WATCHER_REQUIRE_BROWSER) but not installed")
        pytest.skip("needs Chromium (apt-get install chromium)")
    internal = Listener("127.0.0.2")
    other_host = ScriptedServer(host="127.0.0.3").start()
    try:
        other_host.routes["/reaching.html"] = static(reaching(internal))
        routes = {
            "/shared.pdf": static(pdfs.shared_pages(30_000), "application/pdf"),
            "/loop.pdf": static(pdfs.page_tree_loop(), "application/pdf"),
            "/big.json": static(b"[" + b",".join([b"0"] * 2_400_000) + b"]", "application/json"),
            "/long.json": endless(b'{"n": 1},' * 1000),
            "/laughs.rss": static(laughs(), "application/rss+xml"),
            "/api.json": static(b'{"a": 1}', "application/json"),
            "/busy.html": static(NEVER_RESTS),
        }
        for number in range(3):
            body = f"<html><body><h2>Policy</h2><p>Plain page {number}.</p></body></html>"
            routes[f"/plain{number}.html"] = static(body.encode())
        scripted.routes.update(routes)
        hostile: list[dict[str, Any]] = [
            {"id": "shared-pdf", "url": scripted.url("/shared.pdf")},
            {"id": "loop-pdf", "url": scripted.url("/loop.pdf")},
            {"id": "big-json", "url": scripted.url("/big.json")},
            {"id": "long-json", "url": scripted.url("/long.json"), "kind": "json"},
            {"id": "laughs", "url": scripted.url("/laughs.rss")},
            {"id": "jq", "url": scripted.url("/api.json"), "select": "jq:last(range(1e12))"},
            {"id": "busy", "url": scripted.url("/busy.html"), "fetch": "browser"},
            {"id": "reaching", "url": other_host.url("/reaching.html"), "fetch": "browser"},
        ]
        plain = [
            {"id": f"plain{number}", "url": scripted.url(f"/plain{number}.html")}
            for number in range(3)
        ]
        service = start(write_config(tmp_path, config(tmp_path, hostile + plain)))
        running.append(service)
        watch = Watch(service)
        try:
            states = service.wait_for(
                lambda: all_checked(service, len(hostile) + len(plain)),
                timeout=90,
                what="every source checked once",
            )
        finally:
            watch.stop()
        durations = check_durations(service)
    finally:
        other_host.stop()
        internal.stop()

    for source in plain:
        assert states[source["id"]]["status"] == "ok", states[source["id"]]
    failed = {
        "big-json": "the JSON holds more than 100,000 values",
        "long-json": "larger than max_bytes (5,000,000 bytes)",
        "jq": f"extraction took longer than {EXTRACT_TIMEOUT:g} s",
        "busy": f"timed out after {TIMEOUT:g}s (the page did not finish loading in the browser)",
    }
    for source_id, reason in failed.items():
        assert states[source_id]["status"] == "failing", states[source_id]
        assert reason in states[source_id]["last_error"], states[source_id]
    for source_id in ("shared-pdf", "loop-pdf", "laughs", "reaching"):  # read safely
        assert states[source_id]["status"] == "ok", states[source_id]
    bounds = {source["id"]: EXTRACT_TIMEOUT for source in hostile}
    bounds.update(busy=TIMEOUT + EXTRACT_TIMEOUT, reaching=TIMEOUT + EXTRACT_TIMEOUT)
    for source_id, bound in bounds.items():
        assert durations[source_id] <= bound + 2, (source_id, durations[source_id])
    assert not watch.failures, watch.failures[:5]
    assert watch.slowest < 1.0, watch.slowest
    peak = f"{watch.peak / 1e6:.0f} MB"
    assert watch.peak < MEMORY_CEILING, f"{peak}: {sorted(watch.breakdown.items())}"
    assert internal.connections == 0
    RESULTS.write_text(
        json.dumps(
            {
                "peak_pss_mb": round(watch.peak / 1e6),
                "slowest_healthz_s": round(watch.slowest, 3),
                "durations_s": durations,
            },
            indent=1,
        )
    )


def config(tmp_path: Path, sources: list[dict[str, Any]]) -> dict[str, Any]:
    from tests.smtp import free_port

    port = free_port()
    return {
        "service": {
            "database": f"sqlite:///{tmp_path / 'w.db'}",
            "listen": f"127.0.0.1:{port}",
            "public_url": f"http://127.0.0.1:{port}",
        },
        "checks": {
            "interval": "1h",
            "jitter": "0s",
            "timeout": f"{TIMEOUT:g}s",
            "extract_timeout": f"{EXTRACT_TIMEOUT:g}s",
            "extract_memory": "256MB",
            "retry": "1h",
        },
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": sources}],
    }


def all_checked(service: Running, count: int) -> dict[str, dict[str, Any]] | None:
    states = {source["id"]: source for source in service.api("/sources")}
    done = [s for s in states.values() if s["status"] in ("ok", "failing")]
    return states if len(done) == count else None


def check_durations(service: Running) -> dict[str, float]:
    """Each source's check, from fetch to result, as the service logged it, less the time
    it waited for a free extraction worker (both were busy with other hostile documents:
    waiting is not the document's doing, and each bound starts when a worker takes it)."""
    return {
        record["source"]: round(record["duration"] - record["extract_wait"], 4)
        for record in service.records()
        if record.get("logger") == "watcher.check" and "duration" in record
    }
