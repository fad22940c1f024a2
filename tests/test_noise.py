"""Noise that learns (`extract/noise.py`): which lines two fetches seconds apart show to be
volatile, and that a real edit is never among them."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests.harness import Harness
from tests.servers import Route, ScriptedServer, reply
from watcher.app import open_app
from watcher.extract import Line, PageDocument
from watcher.extract.noise import MAX_LEARNED, Noise, learn, noise_key, without_noise
from watcher.loading import load_config
from watcher.web.app import create_web

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def page(*texts: str) -> PageDocument:
    lines = [Line(("Profile",), "h2", "Profile")]
    for text in texts:
        kind = "updated" if text.startswith("Last Updated") else "text"
        lines.append(Line(("Profile",), kind, text))
    return PageDocument(tuple(lines))


def test_a_counter_is_one_line_whatever_its_number() -> None:
    assert noise_key("Visits: 1,204") == noise_key("Visits:  1,305") == "Visits:#"
    assert noise_key("Generated 2026-12-01 09:00:03") == noise_key("Generated 2026-12-01 09:00:08")
    assert noise_key("Visits: 12") != noise_key("Casualties: 12")


def test_a_counter_that_moved_in_both_steps_is_learned() -> None:
    previous = page("Casualties: 12", "Visits: 100")
    first = page("Casualties: 12", "Visits: 150")
    second = page("Casualties: 12", "Visits: 151")
    recheck = learn(previous, first, second)
    assert recheck.refused is None
    assert {noise_key(line.text) for line in recheck.lines} == {"Visits:#"}
    assert recheck.lines[0].text == "Visits: 150"  # the first fetch's version is the example


def test_a_rotating_banner_is_learned_in_each_version_seen() -> None:
    previous = page("Treaty text", "Banner: donate today")
    first = page("Treaty text", "Banner: read our annual report")
    second = page("Treaty text", "Banner: donate today")
    keys = {noise_key(line.text) for line in learn(previous, first, second).lines}
    assert keys == {noise_key("Banner: donate today"), noise_key("Banner: read our annual report")}


def test_a_real_edit_is_never_learned() -> None:
    """Changed from the snapshot to the first fetch, the same in the second: a change."""
    previous = page("Vietnam has not acceded.", "Visits: 100")
    first = page("Vietnam acceded in 2026.", "Visits: 150")
    second = page("Vietnam acceded in 2026.", "Visits: 151")
    keys = {noise_key(line.text) for line in learn(previous, first, second).lines}
    assert keys == {"Visits:#"}


def test_an_edit_published_between_the_two_fetches_is_not_learned() -> None:
    previous = page("Vietnam has not acceded.", "Mine action: 3 programmes", "Visits: 100")
    first = page("Vietnam has not acceded.", "Mine action: 3 programmes", "Visits: 150")
    second = page("Vietnam acceded in 2026.", "Mine action: 3 programmes", "Visits: 151")
    keys = {noise_key(line.text) for line in learn(previous, first, second).lines}
    assert keys == {"Visits:#"}


def test_headings_and_the_last_updated_line_are_never_learned() -> None:
    previous = page("Last Updated: 1 December 2026 09:00")
    first = page("Last Updated: 1 December 2026 09:01")
    second = page("Last Updated: 1 December 2026 09:02")
    assert learn(previous, first, second).lines == []


def test_a_page_different_on_every_request_teaches_nothing() -> None:
    previous = page("a", "b", "c", "d")
    first = page("e", "f", "g", "h")
    second = page("i", "j", "k", "d")
    recheck = learn(previous, first, second)
    assert recheck.lines == []
    assert recheck.refused is not None
    assert "not learned as noise" in recheck.refused


def test_learned_lines_are_left_out_and_kept_as_json() -> None:
    noise = Noise().adding([Line(("Profile",), "text", "Visits: 150")], NOW)
    document = without_noise(page("Casualties: 12", "Visits: 9,999"), noise.keys)
    assert [line.text for line in document.lines] == ["Profile", "Casualties: 12"]
    again = Noise.from_json(noise.to_json())
    assert again == noise
    assert again.lines[0].example == "Visits: 150"
    assert Noise.from_json(None) == Noise()
    assert Noise().to_json() is None
    assert not Noise()
    assert noise


def test_a_source_keeps_its_latest_learned_lines() -> None:
    lines = [Line((), "text", f"banner {chr(65 + i % 26)}{chr(65 + i // 26)}") for i in range(300)]
    noise = Noise().adding(lines, NOW)
    assert len(noise.lines) == MAX_LEARNED
    assert noise.lines[-1].example == lines[-1].text
    assert noise.adding(lines[-1:], NOW) == noise  # known already: nothing added


def test_a_banner_rotating_through_three_versions_is_learned_in_all_three() -> None:
    """A -> B found as a change, B -> C on the recheck: B changed twice, and A and C stood
    in its place. Learning B alone would leave "A removed" as a change."""
    previous = page("Treaty text", "Banner: donate today", "Mine action")
    first = page("Treaty text", "Banner: read our annual report", "Mine action")
    second = page("Treaty text", "Banner: join the campaign", "Mine action")
    keys = {noise_key(line.text) for line in learn(previous, first, second).lines}
    assert keys == {
        noise_key("Banner: donate today"),
        noise_key("Banner: read our annual report"),
        noise_key("Banner: join the campaign"),
    }
    learned = Noise().adding(learn(previous, first, second).lines, NOW).keys
    assert without_noise(previous, learned) == without_noise(first, learned)


def test_a_real_edit_beside_a_rotating_banner_is_not_learned() -> None:
    previous = page("Banner: donate today", "Vietnam has not acceded.", "Mine action")
    first = page("Banner: read our report", "Vietnam acceded in 2026.", "Mine action")
    second = page("Banner: join the campaign", "Vietnam acceded in 2026.", "Mine action")
    keys = {noise_key(line.text) for line in learn(previous, first, second).lines}
    assert noise_key("Vietnam acceded in 2026.") not in keys
    assert noise_key("Vietnam has not acceded.") not in keys
    assert noise_key("Banner: donate today") in keys


# With the `watcher` command, against a page on a local server that differs per request.


def noisy_harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], route: Route
) -> Harness:
    scripted.routes["/profile"] = route
    source = {"id": "vn-profile", "url": scripted.url("/profile"), "select": "#content"}
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"timeout": "5s", "recheck_after": "0.05s"},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": [source]}],
    }
    return Harness(tmp_path, data, capsys)


def counter_page(edit: list[str]) -> Route:
    """A profile with a visit counter; `edit[0]` is its one paragraph of substance."""
    visits = itertools.count(1000, 17)

    def route(handler: BaseHTTPRequestHandler) -> None:
        body = (
            "<html><body><div id='content'><h1>Viet Nam</h1>"
            f"<p>{edit[0]}</p><p>Casualties in 2025: 48.</p><p>Mine action: 3 operators.</p>"
            f"<p>Read {next(visits):,} times.</p></div></body></html>"
        )
        reply(handler, 200, body.encode())

    return route


def test_forgetting_the_noise_takes_a_fresh_baseline_never_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit = ["Viet Nam has not acceded."]
    harness = noisy_harness(scripted, tmp_path, capsys, counter_page(edit))
    harness.check()
    _, out = harness.check()
    assert "unchanged vn-profile  only lines that differ from one fetch to the next" in out
    assert scripted.count("/profile") == 3  # the check's fetch and the recheck
    assert harness.sources()["vn-profile"]["noise_lines"] == 1
    _, table, _ = harness.cli("sources")
    assert "[1 line learned as noise]" in table
    _, listed, _ = harness.cli("noise")
    assert "vn-profile: 1 line learned as noise" in listed
    assert "Read 1,017 times." in listed

    status, out, _ = harness.cli("noise", "--forget", "vn-profile")
    assert status == 0
    assert "Forgot the noise of vn-profile." in out
    _, listed, _ = harness.cli("noise")
    assert "No source has learned any noise." in listed
    _, out = harness.check()
    assert "baseline  vn-profile" in out  # the counter is back in, but nobody is told
    assert harness.changes() == []
    assert scripted.count("/profile") == 4  # a baseline is no change: no recheck

    _, out = harness.check()  # and the counter is learned again, with the next change
    assert "learned as noise" in out
    edit[0] = "Viet Nam acceded in 2026."
    _, out = harness.check()
    assert "changed   vn-profile" in out
    (change,) = harness.changes()
    text = harness.show(change["id"])["change"]
    assert "Read" not in json.dumps(text)  # the change carries the edit, not the counter


def test_a_recheck_that_fails_leaves_the_change_standing_with_a_warning(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = itertools.count()
    page = counter_page(["Viet Nam has not acceded."])

    def route(handler: BaseHTTPRequestHandler) -> None:
        if next(served) == 2:  # the recheck after the first change
            reply(handler, 503, b"busy", "text/plain")
        else:
            page(handler)

    harness = noisy_harness(scripted, tmp_path, capsys, route)
    harness.check()
    _, out = harness.check()
    assert "changed   vn-profile" in out
    state = harness.sources()["vn-profile"]
    assert state["status"] == "ok"
    assert "fetched again to learn its noise, the page failed: HTTP 503" in state["last_warning"]
    assert state["noise_lines"] == 0


def test_the_noise_command_refuses_what_it_cannot_do(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = noisy_harness(scripted, tmp_path, capsys, counter_page(["x"]))
    status, _, err = harness.cli("noise", "--forget")
    assert status == 2
    assert "name the sources" in err
    status, _, err = harness.cli("noise", "--forget", "nope")
    assert status == 2
    assert "unknown source id: nope" in err
    status, _, err = harness.cli("noise", "--all")
    assert status == 2
    assert "--all goes with --forget" in err


def test_the_source_page_and_the_api_show_the_noise_and_the_api_forgets_it(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visits = itertools.count(1000, 17)

    def route(handler: BaseHTTPRequestHandler) -> None:
        body = (
            "<html><body><div id='content'><h1>Viet Nam</h1><p>Not acceded.</p>"
            "<p>Casualties in 2025: 48.</p><p>Mine action: 3 operators.</p>"
            f"<p>&lt;script&gt;alert(1)&lt;/script&gt; read {next(visits):,} times</p>"
            "</div></body></html>"
        )
        reply(handler, 200, body.encode())

    harness = noisy_harness(scripted, tmp_path, capsys, route)
    harness.check()
    harness.check()
    asyncio.run(read_the_noise_over_http(harness))


async def read_the_noise_over_http(harness: Harness) -> None:
    async with open_app(load_config(harness.path)) as app:
        web = create_web(app, api_token="noise-token-0123456789abcdef")
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            country = await http.get("/countries/VN")
            assert 'href="/sources/vn-profile"' in country.text
            page = await http.get("/sources/vn-profile")
            assert page.status_code == 200
            assert "Ignored as noise" in page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt; read 1,017 times" in page.text
            assert "<script>alert" not in page.text
            assert (await http.get("/sources/nope")).status_code == 404

            assert (await http.get("/api/v1/sources/vn-profile/noise")).status_code == 401
            auth = {"Authorization": "Bearer noise-token-0123456789abcdef"}
            listed = await http.get("/api/v1/sources/vn-profile/noise", headers=auth)
            assert listed.status_code == 200
            (line,) = listed.json()["lines"]
            assert line["key"] == "<script>alert(#)</script>read#times"
            gone = await http.delete("/api/v1/sources/vn-profile/noise", headers=auth)
            assert gone.status_code == 204
            listed = await http.get("/api/v1/sources/vn-profile/noise", headers=auth)
            assert listed.json()["lines"] == []
            assert (await http.delete("/api/v1/sources/x/noise", headers=auth)).status_code == 404
            page = await http.get("/sources/vn-profile")
            assert "Nothing on this page has been learned as noise." in page.text


def test_a_line_that_folds_like_a_steady_line_is_not_learned() -> None:
    """A table of figures where this year's row counts live: learning "#: #" would hide
    every row, and a later edit of last year's figure would be lost. It stays a change."""
    prose = ["Mine action", "Clearance", "Risk education", "Victim assistance", "Funding"]
    previous = page("2024: 61", "2025: 48", "2026: 12", *prose)
    first = page("2024: 61", "2025: 48", "2026: 13", *prose)
    second = page("2024: 61", "2025: 48", "2026: 14", *prose)
    recheck = learn(previous, first, second)
    assert recheck.lines == []
    assert recheck.refused is None


def test_a_line_without_words_is_not_learned() -> None:
    """ "#" would hide every figure standing alone in a cell, now and later."""
    previous = page("Visitors", "1,204", "Mine action", "Clearance")
    first = page("Visitors", "1,305", "Mine action", "Clearance")
    second = page("Visitors", "1,306", "Mine action", "Clearance")
    assert learn(previous, first, second).lines == []
