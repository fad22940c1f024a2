"""`fetch = "browser"`: pages whose content exists only once their scripts ran, rendered by
headless Chromium (Debian's), checked by the `watcher` command against a local server."""

from __future__ import annotations

import json
import shutil
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Harness, one_source
from tests.servers import Listener, ScriptedServer, endless, redirect, reply, static

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Chromium (apt-get install chromium)"
)

APP = b"""<!doctype html><html><head><title>Viet Nam</title></head><body>
<div id="content"><p>Loading...</p></div>
<script>
fetch("/data.json").then(r => r.json()).then(data => {
  document.getElementById("content").innerHTML =
    "<h2>Mine Ban Policy</h2><p>" + data.policy + "</p><p>In 2025 the Monitor recorded "
    + data.casualties + " casualties in Viet Nam.</p>";
});
</script></body></html>"""


def data(scripted: ScriptedServer, policy: str, casualties: int) -> None:
    body = json.dumps({"policy": policy, "casualties": casualties}).encode()
    scripted.routes["/data.json"] = static(body, "application/json")


def browser_harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], **source: Any
) -> Harness:
    own = {"id": "vn-app", "url": scripted.url("/app.html"), "fetch": "browser", **source}
    return one_source(tmp_path, capsys, own, {"timeout": "20s"})


def test_a_page_built_by_its_script_is_watched_as_the_browser_shows_it(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted.routes["/app.html"] = static(APP)
    data(scripted, "Viet Nam has not acceded to the Mine Ban Treaty.", 48)
    harness = browser_harness(scripted, tmp_path, capsys, select="#content")
    _, out = harness.check()
    assert "baseline  vn-app" in out, out
    _, document = harness.snapshot("vn-app")
    text = document.render_text()  # type: ignore[union-attr]
    assert "Viet Nam has not acceded" in text
    assert "Loading" not in text
    data(scripted, "Viet Nam has not acceded to the Mine Ban Treaty.", 52)
    _, out = harness.check()
    assert "changed   vn-app  Mine Ban Policy" in out, out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "recorded [-48-]{+52+} casualties" in shown


def test_what_the_script_fetches_from_a_private_host_is_refused(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page is the operator's (127.0.0.1); a script it loads from another host in
    private space (localhost) is not fetched, unless the source allows it."""
    other = scripted.url("/inject.js").replace("127.0.0.1", "localhost")
    page = f"""<!doctype html><html><body><div id="content"><p>Public text.</p></div>
<script src="{other}"></script></body></html>""".encode()
    scripted.routes["/app.html"] = static(page)
    scripted.routes["/inject.js"] = static(
        b'document.getElementById("content").innerHTML += "<p>From the private host.</p>";',
        "application/javascript",
    )
    harness = browser_harness(scripted, tmp_path, capsys, select="#content")
    harness.check()
    _, document = harness.snapshot("vn-app")
    assert "From the private host" not in document.render_text()  # type: ignore[union-attr]
    assert scripted.count("/inject.js") == 0

    harness.data["countries"][0]["sources"][0]["allow_private"] = True
    harness.save()
    harness.check()
    _, document = harness.snapshot("vn-app")
    assert "From the private host" in document.render_text()  # type: ignore[union-attr]


def test_a_page_that_never_finishes_loading_fails_within_its_timeout(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted.routes["/app.html"] = static(
        b'<!doctype html><html><body><p>Text</p><iframe src="/forever"></iframe></body></html>'
    )
    scripted.routes["/forever"] = endless(b"<p>more</p>", pause=0.2)
    harness = browser_harness(scripted, tmp_path, capsys)
    harness.data["checks"]["timeout"] = "3s"
    harness.save()
    status, out = harness.check()
    assert status == 3, out
    reason = harness.sources()["vn-app"]["last_error"]
    assert "timed out after 3s (the page did not finish loading in the browser)" in reason


def test_a_page_whose_scripts_never_rest_is_taken_as_it_stands(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    polled = b"""<!doctype html><html><body><div id="content"><p>Live figures.</p></div>
<script>setInterval(() => fetch("/poll"), 100);</script></body></html>"""
    scripted.routes["/app.html"] = static(polled)
    scripted.routes["/poll"] = static(b"{}", "application/json")
    harness = browser_harness(scripted, tmp_path, capsys)
    _, out = harness.check()
    assert "baseline  vn-app" in out, out


def test_without_chromium_the_check_fails_saying_what_to_install(
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_CHROMIUM", str(tmp_path / "no-chromium"))
    scripted.routes["/app.html"] = static(APP)
    harness = browser_harness(scripted, tmp_path, capsys)
    status, _ = harness.check()
    assert status == 3
    reason = harness.sources()["vn-app"]["last_error"]
    assert "needs Chromium: apt-get install chromium" in reason


def test_no_cookie_outlives_a_check(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str | None] = []

    def page(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.headers.get("Cookie"))
        reply(
            handler,
            200,
            b"<!doctype html><html><body><p>Hello</p></body></html>",
            headers={"Set-Cookie": "session=abc; Path=/"},
        )

    scripted.routes["/app.html"] = page
    harness = browser_harness(scripted, tmp_path, capsys)
    harness.check()
    first = len(seen)
    harness.check()
    assert seen[0] is None
    assert seen[first] is None  # the second check starts without the first one's cookie


def test_a_redirect_into_private_space_is_refused_before_it_is_followed(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chromium follows a redirect without asking anyone, but every connection it makes goes
    through watcher's gate (`fetch/gate.py`), which refuses the private host: the private
    page is never asked, and the check says where the document was led."""
    scripted.routes["/app.html"] = redirect(
        scripted.url("/secret.html").replace("127.0.0.1", "localhost")
    )
    scripted.routes["/secret.html"] = static(b"<html><body><p>Internal.</p></body></html>")
    harness = browser_harness(scripted, tmp_path, capsys)
    status, _ = harness.check()
    assert status == 3
    reason = harness.sources()["vn-app"]["last_error"]
    assert reason.startswith("redirected into private address space (localhost)")
    assert scripted.count("/secret.html") == 0

    scripted.routes["/app.html"] = redirect("/moved/app.html")  # the same host: followed
    scripted.routes["/moved/app.html"] = static(APP.replace(b'"/data.json"', b'"data.json"'))
    scripted.routes["/moved/data.json"] = static(
        json.dumps({"policy": "Followed.", "casualties": 1}).encode(), "application/json"
    )
    status, out = harness.check()
    assert status == 0, out
    _, document = harness.snapshot("vn-app")
    assert "Followed." in document.render_text()  # type: ignore[union-attr]


REACHING = """<!doctype html><html><body><div id="content"><p>Profile text.</p></div>
<img src="{own}/bounce?to={internal}/img.png">
<iframe src="{internal}/frame"></iframe>
<script>
const internal = "{internal}", local = "{local}", own = "{own}";
fetch(own + "/bounce?to=" + internal + "/fetched").catch(() => null);
fetch(internal + "/direct").catch(() => null);
const xhr = new XMLHttpRequest(); xhr.open("GET", internal + "/xhr"); xhr.send();
try {{ new EventSource(internal + "/events"); }} catch (e) {{}}
navigator.sendBeacon(internal + "/beacon", "x");
for (const target of [internal, local]) {{
  try {{ new WebSocket(target.replace("http", "ws") + "/socket"); }} catch (e) {{}}
}}
window.open(internal + "/popup");
setTimeout(() => {{ document.getElementById("content").innerHTML +=
  "<p>Drawn by the script.</p>"; }}, 300);
</script></body></html>"""


def test_nothing_the_rendered_page_does_reaches_private_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The source is on 127.0.0.3 (the operator's choice); two internal services listen on
    127.0.0.2 and on localhost. Every way a page reaches out (subresources and their
    redirects, fetch, XHR, EventSource, beacons, WebSockets, frames, popups) is refused:
    neither service sees a single connection, and the page is still taken."""
    internal, local = Listener("127.0.0.2"), Listener("127.0.0.1")
    own = ScriptedServer(host="127.0.0.3").start()
    try:
        own_url = own.url("")

        def bounce(handler: BaseHTTPRequestHandler) -> None:
            target = handler.path.split("to=", 1)[1]
            reply(handler, 302, b"", headers={"Location": target})

        own.routes["/bounce"] = bounce
        page = REACHING.format(own=own_url, internal=internal.url(""), local=local.url(""))
        own.routes["/app.html"] = static(page.encode())
        harness = one_source(
            tmp_path,
            capsys,
            {"id": "vn-app", "url": own.url("/app.html"), "fetch": "browser"},
            {"timeout": "20s"},
        )
        status, out = harness.check()
        assert status == 0, out
        _, document = harness.snapshot("vn-app")
        assert "Drawn by the script." in document.render_text()  # type: ignore[union-attr]
        assert own.count("/bounce") >= 1  # the page did try
        assert internal.connections == 0
        assert local.connections == 0
    finally:
        own.stop()
        internal.stop()
        local.stop()


HOGS = {
    # a script that never yields: the page never loads
    "/busy.html": b"<html><body><p>x</p><script>while (true) {}</script></body></html>",
    # the script heap grows without end: past V8's limit the page crashes
    "/heap.html": b"<html><body><p>x</p><script>const a = [];"
    b" while (true) { a.push(new Array(1e6).fill(Math.random())); }</script></body></html>",
    # memory outside the script heap (canvas pixels): the watch on the renderer stops it
    "/canvas.html": b"<html><body><p>x</p><script>const keep = [];"
    b" for (let i = 0; i < 400; i++) { const c = document.createElement('canvas');"
    b" c.width = c.height = 4000; const g = c.getContext('2d'); g.fillRect(0, 0, 4000, 4000);"
    b" keep.push(c); }</script></body></html>",
}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/busy.html", ("timed out after 4s (the page did not finish loading in the browser)",)),
        (  # whichever bound comes first: V8's, or the watch on the renderer
            "/heap.html",
            (
                "the page crashed the browser (its scripts needed more than 100 MB",
                "the page needed more than 200 MB in the browser",
            ),
        ),
        ("/canvas.html", ("the page needed more than 200 MB in the browser",)),
    ],
    ids=["never-rests", "script-heap", "canvas"],
)
def test_a_page_is_rendered_within_its_time_and_memory(
    path: str,
    reason: tuple[str, ...],
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The render has the check's deadline and a memory bound (`extract_memory`: half of it
    for each page's script heap, all of it for its renderer process), and the next render
    is unharmed."""
    scripted.routes.update({p: static(body) for p, body in HOGS.items()})
    scripted.routes["/fine.html"] = static(b"<html><body><p>Fine.</p></body></html>")
    sources = [
        {"id": "hog", "url": scripted.url(path), "fetch": "browser"},
        {"id": "fine", "url": scripted.url("/fine.html"), "fetch": "browser"},
    ]
    harness = one_source(tmp_path, capsys, sources[0], {"timeout": "4s", "extract_memory": "200MB"})
    harness.data["countries"][0]["sources"].append(sources[1])
    harness.data["checks"]["browser_concurrency"] = 1  # the hog first, then the other
    harness.save()
    started = time.monotonic()
    status, _ = harness.check()
    assert status == 3
    assert time.monotonic() - started < 20
    states = harness.sources()
    assert states["hog"]["last_error"].startswith(reason), states["hog"]["last_error"]
    assert states["fine"]["status"] == "ok", states["fine"]["last_error"]


def test_a_page_that_cannot_be_reached_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate connects for the browser: a host that refuses the connection is reported as
    such, never as an HTTP status the gate made up."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    harness = one_source(
        tmp_path,
        capsys,
        {"id": "vn-app", "url": f"http://127.0.0.1:{port}/app.html", "fetch": "browser"},
        {"timeout": "10s"},
    )
    status, _ = harness.check()
    assert status == 3
    reason = harness.sources()["vn-app"]["last_error"]
    assert reason.startswith(f"cannot connect to 127.0.0.1:{port}: "), reason
