"""The check pipeline end to end: the example site moved r1 -> r2 -> r3, and every failure."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import demo_data
from tests.harness import Harness
from tests.samples import CORPUS, VIETNAM
from tests.servers import ScriptedServer, hang_up, redirect_loop, reply, slow, static
from watcher.demo.site import SiteServer, site_root
from watcher.extract import Line, PageDocument
from watcher.loading import load_config


@pytest.fixture
def harness(site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Harness:
    return Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)


def by_source(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {change["source_id"]: change for change in changes}


def test_the_example_site_r1_r2_r3(harness: Harness, site: SiteServer) -> None:
    status, out = harness.check()
    assert status == 0
    assert "5 baseline" in out
    assert harness.changes() == []
    assert site.requests["/news.rss"] == 1  # shared by vn-news and la-news: fetched once

    site.revision = "r2"
    status, out = harness.check()
    assert status == 0
    assert "3 changed, 2 unchanged" in out
    changes = by_source(harness.changes())
    assert set(changes) == {"vn-profile", "vn-news", "la-updates"}
    assert site.requests["/news.rss"] == 2

    profile = harness.show(changes["vn-profile"]["id"])
    assert profile["country"] == "VN"
    page = profile["change"]
    assert page["updated"] == {"old": "02 November 2011", "new": "29 October 2012"}
    top = [(s["path"], s["status"]) for s in page["sections"] if len(s["path"]) == 1]
    assert top == [(["Cluster Munition Ban Policy"], "added")]
    assert {s["path"][0] for s in page["sections"]} == {
        "Mine Ban Policy",
        "Cluster Munition Ban Policy",
    }
    news = harness.show(changes["vn-news"]["id"])["change"]
    assert [(e["status"], e["key"]) for e in news["entries"]] == [
        ("new", "profile-vietnam-2012-10-29")
    ]
    atom = harness.show(changes["la-updates"]["id"])["change"]
    assert [(e["status"], e["fields"]) for e in atom["entries"]] == [
        ("updated", ["title", "summary", "date"])
    ]

    site.revision = "r3"
    status, out = harness.check()
    assert status == 0
    assert "0 changed" in out
    assert len(harness.changes()) == 3


def test_without_select_the_r3_noise_is_recorded(harness: Harness, site: SiteServer) -> None:
    del harness.data["countries"][0]["sources"][0]["select"]
    harness.save()
    harness.check()
    site.revision = "r2"
    harness.check()
    site.revision = "r3"
    harness.check()
    profile = [c for c in harness.changes() if c["source_id"] == "vn-profile"]
    assert len(profile) == 2  # r2's real update, and r3's noise that only the selector filters


def test_second_run_with_nothing_due_says_so(harness: Harness) -> None:
    harness.cli("check")
    status, out, _ = harness.cli("check")
    assert status == 0
    assert "Nothing is due; the next check is" in out


def test_changing_the_selector_records_a_new_baseline_not_a_change(
    harness: Harness, site: SiteServer
) -> None:
    harness.check()
    harness.data["countries"][0]["sources"][0]["select"] = "#content h2"
    harness.save()
    status, out = harness.check()
    assert status == 0
    assert "new baseline (the extraction settings, or watcher's way of reading, changed)" in out
    assert harness.changes() == []


def test_a_page_read_by_an_older_extraction_takes_a_new_baseline_not_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A release that reads pages differently (layout tables walked as containers) must not
    mail every subscriber the difference: a page whose stored snapshot an older watcher
    made takes a new baseline; one whose document came out the same stays unchanged."""
    layout = (CORPUS / "page-layout-table" / "r1.html").read_bytes()
    scripted.routes["/cp/vietnam.html"] = static(layout, "text/html; charset=iso-8859-1")
    scripted.routes["/cp/lao-pdr.atom"] = static(ATOM, "application/atom+xml")
    harness = scripted_harness(scripted, tmp_path, capsys)
    harness.data["countries"][0]["sources"][0].pop("select")
    harness.save()
    harness.check()
    source = load_config(harness.path).source("vn-profile")
    assert source is not None
    flattened = PageDocument(
        (Line((), "row", "Home | Reports | Members | Contact"), Line((), "row", "Laos ...")),
    )
    with sqlite3.connect(tmp_path / "w.db") as db:  # as the release before stored it
        db.execute(
            "UPDATE sources SET extract_key = ?, content_hash = ?, body_hash = NULL"
            " WHERE id = 'vn-profile'",
            (source.extract_key, flattened.content_hash()),
        )
        db.execute(
            "UPDATE snapshots SET document = ? WHERE source_id = 'vn-profile'",
            (zlib.compress(json.dumps(flattened.to_json()).encode()),),
        )
    status, out = harness.check()
    assert status == 0
    assert "baseline  vn-profile  new baseline" in out
    assert "unchanged la-updates" in out  # a feed reads as before: nothing to redo
    assert harness.changes() == []
    status, out = harness.check()
    assert "unchanged vn-profile" in out


def test_dry_run_records_nothing(harness: Harness, site: SiteServer) -> None:
    harness.check()
    site.revision = "r2"
    status, out = harness.check("--dry-run")
    assert "changed   vn-profile" in out
    assert harness.changes() == []
    assert harness.snapshot("vn-profile")[0] == 1
    status, _ = harness.check()
    assert status == 0
    assert len(harness.changes()) == 3


def test_unknown_source_ids_are_refused(harness: Harness) -> None:
    status, _, err = harness.cli("check", "nope")
    assert status == 2
    assert "unknown source id: nope" in err


# Failures: each must record no change, leave the snapshot alone, show its reason in
# `watcher sources`, and be followed by silence when the page comes back unchanged.

ATOM = (site_root() / "r1" / "cp" / "lao-pdr.atom").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

FAILURES = {
    "http-404": (static(b"gone", status=404), "HTTP 404"),
    "http-500": (static(b"oops", status=500), "HTTP 500"),
    "timeout": (slow(3), "timed out after 1s"),
    "too-big": (static(b"<p>" + b"x" * 60_000), "larger than max_bytes (30,000 bytes)"),
    "not-html": (
        static(PNG, "image/png"),
        "not HTML, a PDF, JSON, a feed or a sitemap: the server sent image/png",
    ),
    "undecodable": (static(b"<p>caf\xe9</p>", "text/html; charset=utf-8"), "undecodable bytes"),
    "select-misses": (static(b"<html><body><p>moved</p></body></html>"), "matched nothing"),
    "hang-up": (hang_up(), "broke off"),
    "redirect-loop": (redirect_loop("/cp/vietnam.html"), "too many redirects"),
    "empty-200": (static(b"", "text/html"), "cannot be parsed as HTML"),
}


def scripted_harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Harness:
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"timeout": "1s", "max_bytes": "30KB", "retry": "5m"},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {
                        "id": "vn-profile",
                        "url": scripted.url("/cp/vietnam.html"),
                        "select": "#content",
                    },
                    {"id": "la-updates", "url": scripted.url("/cp/lao-pdr.atom")},
                ],
            }
        ],
    }
    return Harness(tmp_path, data, capsys)


def assert_failed_quietly(harness: Harness, source_id: str, reason: str, before: Any) -> None:
    status, out = harness.check()
    assert status == 3, out
    assert f"failed    {source_id}" in out
    assert "Failed sources" in out
    assert harness.changes() == []
    assert harness.snapshot(source_id) == before
    state = harness.sources()[source_id]
    assert state["status"] == "failing"
    assert reason in state["last_error"]
    assert state["failures"] == 1
    status, out, _ = harness.cli("sources")
    assert reason[:20] in out


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failed_check_is_never_a_change(
    failure: str, scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    route, reason = FAILURES[failure]
    scripted.routes["/cp/vietnam.html"] = static(VIETNAM, "text/html")
    scripted.routes["/cp/lao-pdr.atom"] = static(ATOM, "application/atom+xml")
    harness = scripted_harness(scripted, tmp_path, capsys)
    assert harness.check()[0] == 0
    before = harness.snapshot("vn-profile")
    assert before[0] == 1

    scripted.routes["/cp/vietnam.html"] = route
    assert_failed_quietly(harness, "vn-profile", reason, before)

    scripted.routes["/cp/vietnam.html"] = static(VIETNAM, "text/html")
    status, out = harness.check()
    assert status == 0
    assert "unchanged vn-profile" in out
    assert harness.changes() == []
    state = harness.sources()["vn-profile"]
    assert (state["status"], state["failures"], state["last_error"]) == ("ok", 0, None)


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (
            static(b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html"),
            "expected a feed as at the last check, but the response is a page",
        ),
        (static(b"", "application/atom+xml"), "not a feed: the body is empty"),
        (
            static(
                b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entr",
                "application/atom+xml",
            ),
            "not a usable feed",
        ),
    ],
)
def test_a_broken_feed_is_a_failed_check(
    route: Any,
    reason: str,
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted.routes["/cp/vietnam.html"] = static(VIETNAM, "text/html")
    scripted.routes["/cp/lao-pdr.atom"] = static(ATOM, "application/atom+xml")
    harness = scripted_harness(scripted, tmp_path, capsys)
    harness.check()
    before = harness.snapshot("la-updates")
    scripted.routes["/cp/lao-pdr.atom"] = route
    assert_failed_quietly(harness, "la-updates", reason, before)


def test_failures_back_off_and_honour_retry_after(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted.routes["/cp/vietnam.html"] = static(b"busy", status=503)
    scripted.routes["/cp/lao-pdr.atom"] = static(
        b"slow down", status=429, headers={"Retry-After": "7200"}
    )
    harness = scripted_harness(scripted, tmp_path, capsys)
    delays = []
    for attempt in range(1, 4):
        started = datetime.now(UTC)
        assert harness.check()[0] == 3
        states = harness.sources()
        assert states["vn-profile"]["failures"] == attempt
        next_check = datetime.fromisoformat(states["vn-profile"]["next_check_at"])
        delays.append(next_check - started)
        limited = datetime.fromisoformat(states["la-updates"]["next_check_at"])
        assert limited - started >= timedelta(seconds=7190)
    # 5 minutes, then about 10, then about 20 (with a little jitter)
    assert timedelta(minutes=4) < delays[0] < timedelta(minutes=6)
    assert timedelta(minutes=9) < delays[1] < timedelta(minutes=11)
    assert timedelta(minutes=18) < delays[2] < timedelta(minutes=22)
    state = harness.sources()["vn-profile"]
    assert state["failing_since"] is not None


def test_concurrency_bounds_requests_and_a_waiting_commit_frees_the_fetch_slot(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At most `concurrency` requests in flight. A check whose result waits for the database
    gives its fetch slot to the next one, up to twice `concurrency` checks under way."""
    database = tmp_path / "w.db"
    blocker = sqlite3.connect(database, timeout=30, isolation_level=None, check_same_thread=False)
    seen_while_locked: list[int] = []
    first = threading.Lock()

    def release() -> None:
        seen_while_locked.append(len(scripted.seen))
        blocker.execute("COMMIT")

    timer = threading.Timer(1.5, release)

    def page(handler: BaseHTTPRequestHandler) -> None:
        # At the first request the pass has claimed its sources (requests come after the
        # claim): from then on, every commit waits until the lock is given back.
        if first.acquire(blocking=False):
            blocker.execute("BEGIN IMMEDIATE")
            timer.start()
        time.sleep(0.05)
        reply(handler, 200, VIETNAM, "text/html")

    count = 12
    for number in range(count):
        scripted.routes[f"/p{number}.html"] = page
    data = {
        "service": {"database": f"sqlite:///{database}"},
        "checks": {"concurrency": 2, "per_host": 10},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {
                        "id": f"p{number}",
                        "url": scripted.url(f"/p{number}.html"),
                        "select": "#content",
                    }
                    for number in range(count)
                ],
            }
        ],
    }
    harness = Harness(tmp_path, data, capsys)
    try:
        status, out = harness.check()
    finally:
        timer.cancel()  # if the check ended early: no commit on a closed connection
        if timer.ident is not None:
            timer.join()
        blocker.close()
    assert status == 0, out
    assert f"{count} baseline" in out
    assert scripted.max_in_flight == 2
    assert seen_while_locked == [4]  # 2 x concurrency fetched, all waiting for their commit
    assert len(scripted.seen) == count
