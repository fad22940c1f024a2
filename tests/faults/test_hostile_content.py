"""Hostile content: a page and a feed that carry scripts, event handlers, `javascript:` links,
SVG, CSS expressions, CRLF + `Bcc:` in a title, terminal escape sequences, BEL, C1 controls
and a bidi override. Checked where a person or a program meets them: the terminal output of
`check`, `log`, `show` and `sources`, the raw emails, the web pages, the Atom feeds (parsed as
XML) and the API."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import lxml.etree
import lxml.html
import pytest

from tests.harness import Harness
from tests.servers import ScriptedServer, static

CONTROLS = frozenset("\x1b\x07\x9b\x00\x01\u202e")  # ESC, BEL, CSI, NUL, SOH, RLO
PAGE_R1 = b"<html><body><h2>Mine Ban Policy</h2><p>Vietnam has not joined.</p></body></html>"
PAGE_R2 = (
    "<html><body><h2>Mine Ban Policy \u202egnp.exe</h2>"
    "<p>Vietnam has not joined. \x1b[2J\x1b]0;owned\x07 A \x9b31m note\x01.</p>"
    "<p>&lt;script&gt;alert(1)&lt;/script&gt; <script>alert(2)</script>"
    '<a href="javascript:alert(3)">link</a> <img src=x onerror="alert(4)">'
    '<svg onload="alert(5)"><circle r=1 /></svg>'
    '<span style="width:expression(alert(6))">styled</span></p></body></html>'
).encode()
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>http://example.org/</link>
{items}</channel></rss>"""
ITEM_1 = "<item><title>First</title><link>http://example.org/1</link><guid>1</guid></item>"
ITEM_2 = (
    "<item><title>Update&#13;&#10;Bcc: victim@example.org&#13;&#10;X: &#x202e;txt.exe"
    " \x1b[31mred\x07 &lt;script&gt;alert(7)&lt;/script&gt;</title>"
    "<link>javascript:alert(8)</link><guid>2</guid>"
    "<description>&lt;img src=x onerror=alert(9)&gt; &#x9b;31m</description></item>"
)
# A title whose text is markup (escaped twice: once for RSS, once for the HTML a title may
# hold): its text reaches the change's summary, which Atom must carry as text, never elements.
INJECTED = (
    "</summary></entry><entry><title>forged</title><link href='https://evil.example/'/>"
    "<script xmlns='http://www.w3.org/2005/Atom'>alert(10)</script> ]]> done"
)
ITEM_3 = (
    "<item><title>"
    + INJECTED.replace("&", "&amp;")
    .replace("<", "&lt;")
    .replace(">", "&gt;")
    .replace("&", "&amp;")
    .replace("<", "&lt;")
    .replace(">", "&gt;")
    + "</title><link>http://example.org/3</link><guid>3</guid></item>"
)


@pytest.fixture
def harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Harness:
    scripted.routes["/vn.html"] = static(PAGE_R1)
    scripted.routes["/news.rss"] = static(FEED.format(items=ITEM_1).encode(), "application/rss+xml")
    data = {
        "service": {
            "database": f"sqlite:///{tmp_path / 'w.db'}",
            "public_url": "https://monitor.example",
        },
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail"), "settle": "0s"},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": "vn-profile", "url": scripted.url("/vn.html")},
                    {"id": "vn-news", "url": scripted.url("/news.rss")},
                ],
            }
        ],
        "subscribers": [{"email": "reader@readers.example", "countries": ["VN"]}],
    }
    harness = Harness(tmp_path, data, capsys)
    assert harness.check()[0] == 0
    scripted.routes["/vn.html"] = static(PAGE_R2)
    scripted.routes["/news.rss"] = static(
        FEED.format(items=ITEM_1 + ITEM_2 + ITEM_3).encode(), "application/rss+xml"
    )
    return harness


def assert_no_controls(text: str, where: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in CONTROLS or c == "\r"})
    assert not found, f"{where}: {found}"


def test_the_terminal_never_receives_a_control_character(harness: Harness) -> None:
    status, out, err = harness.cli("check", "--all")
    assert status == 0, err
    outputs = {"check": out + err}
    ids = [change["id"] for change in harness.changes()]
    assert len(ids) == 2
    outputs["log"] = "".join(harness.cli("log")[1:])
    outputs["sources"] = "".join(harness.cli("sources")[1:])
    for change_id in ids:
        for form in ("text", "email", "html", "json"):
            outputs[f"show {change_id} {form}"] = "".join(
                harness.cli("show", str(change_id), "--format", form)[1:]
            )
    for where, text in outputs.items():
        assert_no_controls(text.replace("\r\n", "\n"), where)
    # What was said is kept, only its controls are gone.
    assert (
        "Vietnam has not joined." in outputs[f"show {ids[0]} text"] + outputs[f"show {ids[1]} text"]
    )


def test_stored_text_is_clean(harness: Harness) -> None:
    harness.check()
    for source in ("vn-profile", "vn-news"):
        _, document = harness.snapshot(source)
        assert document is not None
        assert_no_controls(json.dumps(document.to_json(), ensure_ascii=False), source)


def raw_emails(tmp_path: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted((tmp_path / "mail" / "new").iterdir())]


ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_ELEMENTS = {
    ATOM + name
    for name in "feed title id link updated generator entry category summary content".split()
}
# What the HTML an entry's content carries may hold (`web/templates/_atom_content.html`).
CONTENT_TAGS = {"div", "p", "h4", "ins", "del", "em", "strong", "a"}


def assert_only_watchers_elements(root: lxml.etree._Element, entries: int, where: str) -> None:
    """The feed holds watcher's elements only, one entry per change, and the hostile title as
    text inside a summary."""
    found = {element.tag for element in root.iter() if isinstance(element.tag, str)}
    assert found <= ATOM_ELEMENTS, (where, found - ATOM_ELEMENTS)
    assert len(root.findall(ATOM + "entry")) == entries, where
    for link in root.iter(ATOM + "link"):
        assert link.get("href", "").startswith("https://monitor.example"), where
    for content in root.iter(ATOM + "content"):  # the change itself, as escaped HTML
        assert content.get("type") == "html", where
        html = lxml.html.fragment_fromstring(content.text or "", create_parent="div")
        tags = {element.tag for element in html.iter() if isinstance(element.tag, str)}
        assert tags <= CONTENT_TAGS, (where, tags - CONTENT_TAGS)
        assert not any(
            name.startswith("on") for element in html.iter() for name in element.attrib
        ), where
    summaries = [element.text or "" for element in root.iter(ATOM + "summary")]
    assert any("</summary></entry><entry>" in text for text in summaries), (where, summaries)


def assert_inert_html(html: str, where: str) -> None:
    root = lxml.html.document_fromstring(html)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("script", "svg", "iframe", "object"), (where, element.tag)
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (where, name)
            assert "javascript:" not in value.lower(), (where, name, value)
            assert "expression(" not in value.lower(), (where, name, value)


def test_emails_carry_no_injected_header_or_active_content(
    harness: Harness, tmp_path: Path
) -> None:
    harness.check()
    [raw] = raw_emails(tmp_path)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_all("Bcc") is None
    assert message["To"] == "reader@readers.example"
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers are ASCII, folded
    assert "victim@example.org" not in "\n".join(
        line for line in headers.splitlines() if not line.startswith(("Subject", " ", "\t"))
    )
    for part in message.walk():
        if part.get_content_type() == "text/html":
            assert_inert_html(str(part.get_content()), "email html")
        if part.get_content_maintype() == "text":
            assert_no_controls(str(part.get_content()).replace("\r\n", "\n"), "email part")
    assert_no_controls(str(message["Subject"]), "subject")


def test_pages_feeds_and_api_are_inert_and_valid(harness: Harness) -> None:
    harness.check()
    asyncio.run(visit(harness))


async def visit(harness: Harness) -> None:
    from watcher.app import open_app
    from watcher.loading import load_config
    from watcher.web.app import create_web

    token = "t" * 40
    async with open_app(load_config(harness.path)) as app:
        web = create_web(app, api_token=token)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            changes = (
                await http.get("/api/v1/changes", headers={"Authorization": f"Bearer {token}"})
            ).json()
            for change in changes:
                page = await http.get(f"/changes/{change['id']}")
                assert page.status_code == 200
                assert_inert_html(page.text, f"/changes/{change['id']}")
                assert_no_controls(page.text, f"/changes/{change['id']}")
                side = await http.get(f"/changes/{change['id']}", params={"view": "side"})
                assert_inert_html(side.text, "side by side")
                full = await http.get(
                    f"/api/v1/changes/{change['id']}", headers={"Authorization": f"Bearer {token}"}
                )
                assert_no_controls(json.dumps(full.json(), ensure_ascii=False), "api")
            for path in ("/", "/changes", "/countries/VN"):
                answer = await http.get(path)
                assert_inert_html(answer.text, path)
            for path in ("/changes.atom", "/countries/VN/changes.atom"):
                atom = await http.get(path)
                root = lxml.etree.fromstring(atom.content)  # strict XML: one bad byte fails
                assert root.tag == "{http://www.w3.org/2005/Atom}feed"
                assert_no_controls(atom.text, path)
                assert not re.search(r"<script", atom.text, re.I)
                assert_only_watchers_elements(root, len(changes), path)
