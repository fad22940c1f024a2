"""End to end with real `watcher` commands, a real HTTP server and SQLite: a country profile
gains a link to a new PDF report; one change names it with its first lines and the country's
readers are told; the PDF becomes a watched source of the country, found on the page; its
later edit is a change in its own section; a link removed is named, and its source goes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests import pdfs
from tests.harness import Harness, one_source
from tests.servers import ScriptedServer, static
from tests.smtp import PASSWORD, MailServer

READER = "reader@example.org"


def profile(reports: list[tuple[str, str]]) -> bytes:
    items = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in reports)
    return f"""<html><body><div id="content"><h2>Mine Ban Policy</h2>
      <p>Viet Nam has not acceded to the Mine Ban Treaty.</p>
      <h2>Reports</h2><ul>{items}</ul></div></body></html>""".encode()


R2011 = ("/files/vn-2011.pdf", "Country report 2011 (PDF)")
R2012 = ("/files/vn-2012.pdf", "Country report 2012 (PDF)")


def report_2012(casualties: int) -> bytes:
    sections = [(heading, list(paragraphs)) for heading, paragraphs in pdfs.SECTIONS]
    sections[2][1][0] = sections[2][1][0].replace("48 casualties", f"{casualties} casualties")
    return pdfs.report(sections)


def watched_profile(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Harness:
    """Viet Nam's profile linking to its 2011 report, watched with `documents = true`."""
    scripted.routes["/profiles/vn.html"] = static(profile([R2011]))
    scripted.routes[R2011[0]] = static(pdfs.report(), "application/pdf")
    page = {
        "id": "vn-profile",
        "url": scripted.url("/profiles/vn.html"),
        "select": "#content",
        "documents": True,
        "max_bytes": "20MB",
    }
    return one_source(tmp_path, capsys, page, {"timeout": "5s"})


def by_url(harness: Harness) -> dict[str, dict[str, object]]:
    return {str(item["url"]).rsplit("/", 1)[-1]: item for item in harness.sources().values()}


def test_a_new_linked_report_is_named_told_followed_and_its_edits_watched(
    scripted: ScriptedServer,
    mail_server: MailServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_MAIL__PASSWORD", PASSWORD)
    harness = watched_profile(scripted, tmp_path, capsys)
    harness.data["mail"] = {**mail_server.settings(), "settle": "0s"}
    harness.save()
    assert harness.cli("subscribe", READER, "VN")[0] == 0

    # The page's baseline: the 2011 report it links to is followed from now on, silently.
    _, out = harness.check("--no-send")
    assert "baseline  vn-profile" in out, out
    followed = by_url(harness)
    assert "vn-2011.pdf" in followed
    _, out = harness.check("--no-send")  # the report's own baseline
    assert f"baseline  {followed['vn-2011.pdf']['id']}" in out, out
    assert harness.changes() == []

    # The profile gains a link to the 2012 report: one change, named, with its first lines.
    scripted.routes[R2012[0]] = static(report_2012(48), "application/pdf")
    scripted.routes["/profiles/vn.html"] = static(profile([R2012, R2011]))
    _, out = harness.check()
    assert "changed   vn-profile  New document: Country report 2012 (PDF)" in out, out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "New document: Country report 2012 (PDF)" in shown, shown
    assert "  | Viet Nam: Country Profile" in shown  # its first lines
    (message,) = mail_server.to(READER)
    assert message["Subject"] == (
        "Vietnam: country profile updated (Reports) · New document: Country report 2012 (PDF)"
    )
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, html):
        assert "New document: Country report 2012 (PDF)" in body
        assert "Demining Watch, country profiles" in body  # the report's second line
    assert f'href="{scripted.url(R2012[0])}"' in html

    # The 2012 report is a watched source of Viet Nam, found on the profile.
    followed = by_url(harness)
    report = followed["vn-2012.pdf"]
    assert (report["country"], report["origin"], report["linked_from"]) == (
        "VN",
        "desk",
        "vn-profile",
    )
    assert report["name"] == "Country report 2012 (PDF)"
    with sqlite3.connect(tmp_path / "w.db") as db:
        (kept,) = db.execute("SELECT settings FROM desk_sources WHERE id = ?", (report["id"],))
    assert json.loads(kept[0])["max_bytes"] == 20_000_000  # its page's limit
    _, out = harness.check("--no-send")
    assert f"baseline  {report['id']}" in out, out

    # Its later edit is a change in its own section.
    scripted.routes[R2012[0]] = static(report_2012(52), "application/pdf")
    _, out = harness.check("--no-send")
    assert f"changed   {report['id']}  Casualties: 48 → 52" in out, out

    # The 2011 link removed: named, and its source no longer watched.
    scripted.routes["/profiles/vn.html"] = static(profile([R2012]))
    _, out = harness.check("--no-send")
    assert "changed   vn-profile  Document removed: Country report 2011 (PDF)" in out, out
    assert "vn-2011.pdf" not in by_url(harness)


def test_a_page_cannot_lead_watcher_into_private_space_by_linking_there(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's own host is the operator's choice; a document it links to on another host
    must be public, as a redirect's target must: 127.0.0.2 is refused before any connection."""
    port = scripted.url("/").split(":")[2].split("/")[0]
    inside = f"http://127.0.0.2:{port}/internal/secrets.pdf"
    scripted.routes["/internal/secrets.pdf"] = static(pdfs.report(), "application/pdf")
    harness = watched_profile(scripted, tmp_path, capsys)
    harness.check()
    scripted.routes["/profiles/vn.html"] = static(profile([R2011, (inside, "Annex (PDF)")]))
    _, out = harness.check()
    assert "changed   vn-profile  New document: Annex (PDF)" in out, out
    _, out = harness.check()
    secret = by_url(harness)["secrets.pdf"]
    assert secret["status"] == "failing", secret
    assert "private address" in str(secret["last_error"]), secret
    assert scripted.count("/internal/secrets.pdf") == 0
    assert by_url(harness)["vn-2011.pdf"]["status"] == "ok"


def test_the_desk_sets_documents_and_shows_what_a_page_links_to(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`watcher sources add --documents --max-documents 1` on the command line: the page's
    first linked document is followed ("linked from" the page), the one past the cap is not
    (the page's warning says so), and a kind that links to nothing refuses the setting."""
    reports = [R2011, ("/files/vn-2010.pdf", "Country report 2010 (PDF)")]
    scripted.routes["/profiles/vn.html"] = static(profile(reports))
    harness = one_source(tmp_path, capsys, {"id": "other", "url": scripted.url("/x.html")})
    scripted.routes["/x.html"] = static(b"<html><body><p>x</p></body></html>")
    status, out, err = harness.cli(
        "sources",
        "add",
        scripted.url("/profiles/vn.html"),
        "--country",
        "VN",
        "--id",
        "vn-desk-profile",
        "--select",
        "#content",
        "--documents",
        "--max-documents",
        "1",
    )
    assert status == 0, (out, err)
    harness.check()
    followed = by_url(harness)
    assert followed["vn-2011.pdf"]["linked_from"] == "vn-desk-profile"
    assert "vn-2010.pdf" not in followed
    _, table, _ = harness.cli("sources")
    assert "linked from vn-desk-profile" in table
    status, out, err = harness.cli(
        "sources", "add", "https://x.example/p", "--country", "VN", "--kind", "feed", "--documents"
    )
    assert status != 0
    assert "'documents' does not apply to kind = 'feed'" in out + err


def test_documents_followed_rest_while_their_page_no_longer_follows_them(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`documents` turned off in the file: the reports it followed are no longer checked
    (their history kept); turned on again, they are checked again, nothing lost."""
    harness = watched_profile(scripted, tmp_path, capsys)
    harness.check()
    report = by_url(harness)["vn-2011.pdf"]["id"]
    harness.check()  # the report's baseline
    kept, _ = harness.snapshot(report)
    harness.data["countries"][0]["sources"][0]["documents"] = False
    harness.save()
    _, out = harness.check()
    assert report not in out
    assert "vn-2011.pdf" not in by_url(harness)
    harness.data["countries"][0]["sources"][0]["documents"] = True
    harness.save()
    harness.check()  # a fresh baseline of the page: its settings changed
    assert by_url(harness)["vn-2011.pdf"]["status"] == "ok"
    assert harness.snapshot(report)[0] == kept  # its history kept, no new baseline


def test_the_documents_past_the_cap_are_the_pages_warning(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = watched_profile(scripted, tmp_path, capsys)
    harness.data["countries"][0]["sources"][0]["max_documents"] = 1
    harness.save()
    scripted.routes["/profiles/vn.html"] = static(profile([R2012, R2011]))
    harness.check()
    state = harness.sources()["vn-profile"]
    assert state["last_warning"] == (
        "the page links to 1 more document than max_documents (1): not followed"
    )
    assert "vn-2011.pdf" not in by_url(harness)
