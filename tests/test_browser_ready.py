"""When a rendered page is taken (`fetch/browser.py`) and what a bad render is
(`check/pipeline.py`): a page is taken once its DOM has stopped changing for a short while
with nothing in flight, and its `select`, if any, holds text; a render that comes out empty,
or with far less text than the last snapshot had, is rendered once more and, if it stays so,
is the check's failure saying so, never a change. Real Chromium, real HTTP on loopback."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.harness import Harness, one_source
from tests.servers import ScriptedServer, reply, static

pytestmark = pytest.mark.browser

PARAGRAPHS = [f"Province {n} reported {n + 3} casualties in 2025." for n in range(1, 11)]


def app(script: str, content: str = "") -> bytes:
    return f"""<!doctype html><html><head><title>Viet Nam</title></head><body>
<div id="content">{content}</div>
<script>
function draw(data) {{
  document.getElementById("content").innerHTML =
    "<h2>Casualties</h2>" + data.paragraphs.map(p => "<p>" + p + "</p>").join("");
}}
{script}
</script></body></html>""".encode()


# A bundle still being parsed: the main thread busy for 1.5 s after "load", with the
# network quiet, before the app asks for its data and draws.
BUSY_THEN_FETCH = """window.addEventListener("load", () => setTimeout(() => {
  const until = Date.now() + 1500; while (Date.now() < until) {}
  fetch("/data.json").then(r => r.json()).then(draw);
}, 0));"""
FETCH = 'fetch("/data.json").then(r => r.json()).then(draw);'


def data(scripted: ScriptedServer, paragraphs: list[str], delay: float = 0.0) -> None:
    body = json.dumps({"paragraphs": paragraphs}).encode()

    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        reply(handler, 200, body, "application/json")

    scripted.routes["/data.json"] = route


def harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], **source: str
) -> Harness:
    own = {"id": "vn-app", "url": scripted.url("/app.html"), "fetch": "browser", **source}
    return one_source(tmp_path, capsys, own, {"timeout": "20s"})


def texts(harness: Harness) -> list[str]:
    _, document = harness.snapshot("vn-app")
    return [line.text for line in document.lines]  # type: ignore[union-attr]


def test_a_page_whose_bundle_is_still_being_parsed_is_taken_once_it_has_drawn(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the network was quiet while the CPU parsed, and the page was taken empty."""
    scripted.routes["/app.html"] = static(app(BUSY_THEN_FETCH))
    data(scripted, PARAGRAPHS, delay=0.3)
    watched = harness(scripted, tmp_path, capsys)
    _, out = watched.check()
    assert "baseline  vn-app" in out, out
    assert PARAGRAPHS[-1] in texts(watched)


def test_a_select_in_the_static_html_is_waited_for_until_it_holds_text(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `#content` was in the static HTML, so the page was taken at once, empty."""
    scripted.routes["/app.html"] = static(app(f"setTimeout(() => {{ {FETCH} }}, 300);"))
    data(scripted, PARAGRAPHS, delay=0.8)
    watched = harness(scripted, tmp_path, capsys, select="#content")
    _, out = watched.check()
    assert "baseline  vn-app" in out, out
    assert PARAGRAPHS[0] in texts(watched)


def test_a_render_that_comes_out_empty_is_rendered_again_then_fails_never_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted.routes["/app.html"] = static(app(FETCH))
    data(scripted, PARAGRAPHS)
    watched = harness(scripted, tmp_path, capsys)
    _, out = watched.check()
    assert "baseline  vn-app" in out, out
    # The app's data call now fails: it draws nothing, each time.
    scripted.routes["/data.json"] = static(b"oops", "text/plain", status=500)
    before = scripted.count("/app.html")
    status, out = watched.check()
    assert status == 3, out
    assert scripted.count("/app.html") - before == 2  # rendered once more
    state = watched.sources()["vn-app"]
    assert "the page rendered nothing" in state["last_error"]
    assert watched.changes() == []
    assert PARAGRAPHS[-1] in texts(watched)  # the snapshot is left as it was


def test_a_render_with_far_less_text_fails_until_it_holds_three_checks_in_a_row(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A render that lost most of the text is a bad render twice; a third time in a row it is
    what the page now says, and the change is told."""
    scripted.routes["/app.html"] = static(app(FETCH))
    data(scripted, PARAGRAPHS)
    watched = harness(scripted, tmp_path, capsys)
    watched.check()
    data(scripted, PARAGRAPHS[:2])
    for _ in range(2):
        before = scripted.count("/app.html")
        status, out = watched.check()
        assert status == 3, out
        assert scripted.count("/app.html") - before == 2
        error = watched.sources()["vn-app"]["last_error"]
        assert "the page rendered far less text than last time" in error, error
        assert watched.changes() == []
    status, out = watched.check()
    assert "changed   vn-app" in out, out
    assert len(watched.changes()) == 1
    assert PARAGRAPHS[2] not in texts(watched)
    assert "far less text" in (watched.sources()["vn-app"]["last_warning"] or "")


def test_a_page_that_sends_its_reader_on_is_taken_where_it_lands(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script that moves the page on while it settles (`location.href = ...`): the page it
    lands on is the one taken (a look at the page while the old document is torn down is
    taken as "not drawn yet", never as the check's failure)."""
    scripted.routes["/app.html"] = static(
        b'<html><body><p>Moving...</p><script>setTimeout(() => location.href = "/next.html",'
        b" 200);</script></body></html>"
    )
    scripted.routes["/next.html"] = static(app(FETCH))
    data(scripted, PARAGRAPHS)
    watched = harness(scripted, tmp_path, capsys)
    _, out = watched.check()
    assert "baseline  vn-app" in out, out
    assert PARAGRAPHS[0] in texts(watched)
