"""Source kinds (`extract/kinds/`): a JSON API and a PDF report watched like pages, by the
`watcher` command against a local server; and the registry every kind goes through."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests import pdfs
from tests.configs import base, only_error
from tests.harness import Harness, one_source
from tests.packages import npm_package
from tests.servers import ScriptedServer, endless, static
from watcher.extract import PageDocument
from watcher.extract.kinds import KINDS, accept_header, detect

PROFILE: dict[str, Any] = {
    "country": "Viet Nam",
    "treaty": {"status": "not party", "votes": [2023, 2024, 2025]},
    "casualties": {"2024": 61, "2025": 48},
    "updated": "2026-10-14",
}


def api(
    scripted: ScriptedServer, data: Any, *, indent: int | None = None, sort: bool = False
) -> None:
    body = json.dumps(data, indent=indent, sort_keys=sort).encode()
    scripted.routes["/api/vn.json"] = static(body, "application/json")


def json_harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], **source: Any
) -> Harness:
    own = {"id": "vn-api", "url": scripted.url("/api/vn.json"), **source}
    return one_source(tmp_path, capsys, own, {"timeout": "5s", "max_bytes": "200KB"})


def outcome(out: str) -> str:
    (line,) = [line for line in out.splitlines() if " vn-api " in f" {line} "]
    return line


def test_a_changed_field_is_one_rewritten_line_with_its_words_marked(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api(scripted, PROFILE)
    harness = json_harness(scripted, tmp_path, capsys)
    _, out = harness.check()
    assert outcome(out).startswith("baseline  vn-api")
    assert harness.sources()["vn-api"]["kind"] == "json"  # told by its Content-Type
    first = scripted.seen[-1].headers["Accept"]  # not known yet: any kind watcher reads
    assert first.startswith("text/html,")
    assert "application/json," in first

    api(scripted, PROFILE, indent=4, sort=True)  # key order and whitespace are no change
    _, out = harness.check()
    assert outcome(out).startswith("unchanged vn-api")
    assert scripted.seen[-1].headers["Accept"] == "application/json,*/*;q=0.5"  # known now

    api(scripted, {**PROFILE, "casualties": {"2024": 61, "2025": 52}})
    _, out = harness.check()
    assert outcome(out).startswith("changed   vn-api  casualties: 48 → 52")
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "@@ casualties" in shown
    assert "2025: [-48-]{+52+}" in shown


def octokit_answers(scenario: str) -> list[Any]:
    """The recorded GitHub API answers of one of @octokit/fixtures' scenarios."""
    folder = npm_package("@octokit/fixtures", "23.1.2") / "scenarios" / "api.github.com"
    fixture = json.loads((folder / scenario / "normalized-fixture.json").read_text())
    return [item["response"] for item in fixture]


def test_a_new_first_element_of_a_list_is_one_item_added(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 29: list items are known by their key (`id`, `number`, `key`, `name`, `sha`,
    `node_id`), not their place: GitHub's lists come newest first, and a new first element
    is that element added, never every later one rewritten. Recorded answers of GitHub's
    API (@octokit/fixtures, fetched at test time)."""
    both = octokit_answers("add-and-remove-repository-collaborator")[3]
    assert [user["login"] for user in both] == ["octokit-fixture-user-a", "octokit-fixture-user-b"]
    api(scripted, both[1:])  # user b alone
    harness = json_harness(scripted, tmp_path, capsys)
    harness.check()
    api(scripted, both)  # user a comes first
    _, out = harness.check()
    (change,) = harness.changes()
    data = harness.show(change["id"])["change"]
    assert (data["stats"]["changed"], data["stats"]["removed"]) == (0, 0), outcome(out)
    added = [line["text"] for hunk in data["hunks"] for line in hunk if line["op"] == "added"]
    assert f"[id={both[0]['id']}].login: octokit-fixture-user-a" in added
    assert not any("octokit-fixture-user-b" in text for text in added)
    api(scripted, both[::-1])  # the same two, the other way round: a move, not an edit
    _, out = harness.check()
    moved = harness.show(harness.changes()[0]["id"])["change"]
    assert moved["stats"]["changed"] == 0, outcome(out)
    assert moved["stats"]["moved"] > 0


def test_a_json_source_read_by_the_older_release_takes_a_new_baseline_not_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The release that names list items by their key reads JSON into other lines: a
    document an older watcher stored (items by place) takes a new baseline, never a change
    of every item, as a page read by an older page extraction does."""
    import sqlite3
    import zlib

    from watcher.extract import Line, PageDocument
    from watcher.loading import load_config

    users = [{"id": 7, "login": "user-a"}, {"id": 9, "login": "user-b"}]
    api(scripted, users)
    harness = json_harness(scripted, tmp_path, capsys)
    harness.check()
    source = load_config(harness.path).source("vn-api")
    assert source is not None
    by_place = PageDocument(
        tuple(
            Line((), "row", f"[{n}].{field}: {user[field]}")
            for n, user in enumerate(users)
            for field in sorted(user)
        )
    )
    with sqlite3.connect(tmp_path / "w.db") as db:  # as the release before stored it
        db.execute(
            "UPDATE sources SET extract_key = ?, content_hash = ?, body_hash = NULL"
            " WHERE id = 'vn-api'",
            (source.extract_key, by_place.content_hash()),
        )
        db.execute(
            "UPDATE snapshots SET document = ? WHERE source_id = 'vn-api'",
            (zlib.compress(json.dumps(by_place.to_json()).encode()),),
        )
    _, out = harness.check()
    assert outcome(out).startswith("baseline  vn-api  new baseline"), out
    assert harness.changes() == []
    _, out = harness.check()
    assert outcome(out).startswith("unchanged vn-api")


def test_a_sources_key_names_its_lists_items(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`key = "login"`: the items of a list are known by that field before any other (and
    the option makes an `auto` source JSON); a wrong key is as if none were given."""
    users = [{"id": 1, "login": "user-a", "role": "admin"}]
    api(scripted, users)
    harness = json_harness(scripted, tmp_path, capsys, key="login")
    harness.check()
    assert harness.sources()["vn-api"]["kind"] == "json"
    api(scripted, [{"id": 2, "login": "user-a", "role": "admin"}])  # a new id, the same login
    _, out = harness.check()
    (change,) = harness.changes()
    shown = harness.show(change["id"])["change"]
    [line] = [line for hunk in shown["hunks"] for line in hunk if line["op"] != "context"]
    assert (line["op"], line["text"]) == ("changed", "[login=user-a].id: 2"), outcome(out)


def test_top_level_values_are_under_the_documents_own_name(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 29: a JSON document's top-level values are filed under its own name (the
    source's), never a made-up "Introduction" a reader could take for a section."""
    api(scripted, PROFILE)
    harness = json_harness(scripted, tmp_path, capsys, name="Viet Nam API")
    harness.check()
    api(scripted, {**PROFILE, "updated": "2026-11-20"})
    _, out = harness.check()
    assert "Introduction" not in outcome(out)
    assert outcome(out).startswith("changed   vn-api  updated: 2026-10-14 → 2026-11-20")
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "@@ Viet Nam API" in shown
    assert "Introduction" not in shown


def test_a_jq_program_picks_what_matters(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api(scripted, {"generated": "09:00:01", "countries": {"VN": PROFILE, "LA": {"a": 1}}})
    harness = json_harness(scripted, tmp_path, capsys, select="jq:.countries.VN")
    _, out = harness.check()
    assert outcome(out).startswith("baseline  vn-api")
    assert harness.sources()["vn-api"]["kind"] == "json"  # a jq select makes it JSON
    api(scripted, {"generated": "09:05:00", "countries": {"VN": PROFILE, "LA": {"a": 2}}})
    _, out = harness.check()
    assert outcome(out).startswith("unchanged vn-api")
    treaty = {**PROFILE["treaty"], "status": "acceded"}
    api(scripted, {"generated": "09:10:00", "countries": {"VN": {**PROFILE, "treaty": treaty}}})
    _, out = harness.check()
    assert outcome(out).startswith("changed   vn-api  treaty")


@pytest.mark.parametrize(
    ("body", "select", "reason"),
    [
        (b'{"country": "Viet Nam",', None, "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
        (json.dumps(PROFILE).encode(), "jq:.missing", "matched nothing"),
        (json.dumps(PROFILE).encode(), 'jq:.country | error("boom")', "jq: boom"),
    ],
)
def test_json_that_cannot_be_read_is_a_failed_check_with_its_reason(
    body: bytes,
    select: str | None,
    reason: str,
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted.routes["/api/vn.json"] = static(body, "application/json")
    extra = {"select": select} if select else {"kind": "json"}
    harness = json_harness(scripted, tmp_path, capsys, **extra)
    status, out = harness.check()
    assert status == 3
    assert outcome(out).startswith("failed    vn-api")
    assert reason in harness.sources()["vn-api"]["last_error"]


@pytest.mark.parametrize(
    ("source", "key", "words"),
    [
        ({"select": "jq:.[[["}, "countries[0].sources[0].select", "invalid jq program"),
        (
            {"select": "jq:.a", "kind": "page"},
            "countries[0].sources[0]",
            "a jq program selects from JSON",
        ),
        ({"kind": "yaml"}, "countries[0].sources[0].kind", "'feed', 'json' or 'pdf'"),
    ],
)
def test_a_json_source_written_wrong_names_the_key(
    source: dict[str, Any], key: str, words: str
) -> None:
    data = base()
    data["countries"][0]["sources"][0].update(source)
    message = only_error(data)
    assert f"watcher.toml: {key}: " in message
    assert words in message


def test_an_endless_json_body_stops_at_max_bytes(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = json_harness(scripted, tmp_path, capsys, kind="json")
    scripted.routes["/api/vn.json"] = endless(b'{"n": 1},' * 1000)
    status, _ = harness.check()
    assert status == 3
    assert "larger than max_bytes (200,000 bytes)" in harness.sources()["vn-api"]["last_error"]


def test_the_registry_sniffs_each_kind_and_asks_for_what_it_reads() -> None:
    assert {"page", "feed", "json", "pdf"} <= set(KINDS)
    assert detect(b"%PDF-1.4\n", "application/octet-stream").name == "pdf"
    assert detect(b'{"a": 1}', "application/json").name == "json"
    assert detect(b'{"a": 1}', "application/vnd.api+json").name == "json"
    assert detect(b"  [1, 2]", None).name == "json"
    assert detect(b"<?xml version='1.0'?><rss version='2.0'></rss>", "text/xml").name == "feed"
    assert detect(b"<!doctype html><p>x</p>", "text/html").name == "page"
    assert accept_header("json").startswith("application/json")
    assert accept_header("feed").startswith("application/atom+xml")
    assert "application/json" in accept_header("auto")
    assert "text/html" in accept_header("auto")


# PDF: reports made with reportlab (tests/pdfs.py), a paragraph changed on page 3.


def pdf_harness(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes
) -> Harness:
    scripted.routes["/reports/vn.pdf"] = static(body, "application/pdf")
    own = {"id": "vn-report", "url": scripted.url("/reports/vn.pdf")}
    return one_source(tmp_path, capsys, own, {"timeout": "5s"})


def test_a_changed_paragraph_on_page_three_is_one_rewritten_line_in_its_section(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = pdf_harness(scripted, tmp_path, capsys, pdfs.report())
    _, out = harness.check()
    assert "baseline  vn-report  baseline: page with" in out
    assert harness.sources()["vn-report"]["kind"] == "pdf"
    _, document = harness.snapshot("vn-report")
    assert isinstance(document, PageDocument)
    assert document.title == "Viet Nam: Country Profile"
    assert document.updated == "14 October 2026"
    casualties = [line for line in document.lines if line.section[-1:] == ("Casualties",)]
    assert [line.kind for line in casualties] == ["h1", "text", "text"]
    assert casualties[1].text == (  # one paragraph over two lines of the page, one line here
        "In 2025, the Monitor recorded 48 casualties of mines and explosive remnants of war"
        " in Viet Nam, down from 61 in 2024."
    )

    sections = [(heading, list(paragraphs)) for heading, paragraphs in pdfs.SECTIONS]
    sections[2][1][0] = sections[2][1][0].replace("48 casualties", "52 casualties")
    later = datetime(2026, 11, 20, 8, 0)
    scripted.routes["/reports/vn.pdf"] = static(
        pdfs.report(sections, modified=later), "application/pdf"
    )
    _, out = harness.check()
    dates = "Last Updated: 14 October 2026 → 20 November 2026"
    assert f"changed   vn-report  {dates} · Casualties: 48 → 52" in out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "recorded [-48-]{+52+} casualties" in shown
    assert "14 October 2026 → 20 November 2026" in shown


@pytest.mark.parametrize(
    "make",
    [
        pdfs.shared_pages,
        pdfs.page_tree_loop,
        pdfs.brotli_compressed,
        pdfs.aes_encrypted,
        lambda: pdfs.aes_encrypted("AES-256"),
    ],
    ids=["one-page-30000-times", "page-tree-loop", "brotli", "aes-128", "aes-256"],
)
def test_a_pdf_is_read_once_page_by_page_whatever_its_tree_and_streams(
    make: Any, scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page tree is walked with a visited set (a page named 30,000 times is one page, a
    loop is walked once), and what pypdf needs for AES and Brotli is installed with watcher."""
    harness = pdf_harness(scripted, tmp_path, capsys, make())
    started = time.monotonic()
    status, out = harness.check()
    assert status == 0, (out, harness.sources()["vn-report"]["last_error"])
    assert time.monotonic() - started < 5
    _, document = harness.snapshot("vn-report")
    assert isinstance(document, PageDocument)
    texts = [line.text for line in document.lines]
    wanted = "The Monitor recorded 48 casualties in 2025."
    if "aes" in make.__name__ or make.__name__ == "<lambda>":
        wanted = "In 2025, the Monitor recorded 48 casualties"
    assert sum(wanted in text for text in texts) == 1, texts


def test_watcher_installs_what_pypdf_needs_for_aes_and_brotli() -> None:
    from importlib.metadata import requires

    wanted = " ".join(requires("watcher") or [])
    assert "pypdf[" in wanted
    assert "crypto" in wanted
    assert "brotli" in wanted


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: pdfs.report(encrypt="secret"), "encrypted with a password"),
        (lambda: pdfs.report()[:2000], "not a readable PDF"),
        (pdfs.image_only, "the PDF has no text: its 1 page holds no words"),
        (pdfs.scanned, "the PDF is only images (2 pages of pictures, no text)"),
        (pdfs.bomb, "the PDF declares 10,000,000 pages (more than 2,000)"),
    ],
    ids=["encrypted", "truncated", "shapes-only", "scanned", "bomb"],
)
def test_a_pdf_that_cannot_be_read_fails_with_its_reason(
    make: Any,
    reason: str,
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness = pdf_harness(scripted, tmp_path, capsys, make())
    status, out = harness.check()
    assert status == 3, out
    assert reason in harness.sources()["vn-report"]["last_error"]


def test_a_json_body_of_millions_of_values_is_refused_in_proportion(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 4.8 MB array of 2.4 million zeros (under the default max_bytes) would be 2.4 million
    lines: refused with what to do, before the lines are made, within the extraction's time."""
    body = b"[" + b",".join([b"0"] * 2_400_000) + b"]"
    scripted.routes["/api/vn.json"] = static(body, "application/json")
    own = {"id": "vn-api", "url": scripted.url("/api/vn.json"), "kind": "json"}
    harness = one_source(tmp_path, capsys, own, {"timeout": "5s", "extract_timeout": "5s"})
    started = time.monotonic()
    status, _ = harness.check()
    assert status == 3
    assert time.monotonic() - started < 5
    error = harness.sources()["vn-api"]["last_error"]
    assert "the JSON holds more than 100,000 values" in error
    assert "jq:" in error  # what to do: select the part that matters
