"""Composition: headers that hold whatever a page says, size limits, templates, tokens."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import demo_data, make_config
from tests.harness import Harness
from tests.mailing import START, cycle, mail_config
from tests.smtp import MailServer
from watcher.app import open_app
from watcher.config import Config
from watcher.demo.site import SiteServer
from watcher.diff import DiffLine, EntryChange, FeedChange, PageChange, SectionChange
from watcher.extract import Entry
from watcher.notify.compose import Composer
from watcher.notify.links import make_token, parse_token
from watcher.notify.mime import clean_header
from watcher.store.changes import ChangeRecord
from watcher.store.sources import SourceState
from watcher.store.subscribers import Subscriber

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(demo_data(None, f"sqlite:///{tmp_path / 'w.db'}"), tmp_path)


def reader(countries: tuple[str, ...] = ("VN",), frequency: str = "immediate") -> Subscriber:
    return Subscriber(
        id=7,
        email="reader@example.org",
        frequency=frequency,
        status="active",
        origin="cli",
        token="abcdefghijklmnopqrstuvwx",
        countries=countries,
        created_at=NOW,
        confirmed_at=NOW,
        hard_bounces=0,
    )


def page_record(sections: list[str], lines: list[DiffLine], record_id: int = 1) -> ChangeRecord:
    change = PageChange(
        title="Vietnam",
        updated_old="1 May 2012",
        updated_new="2 May 2012",
        sections=tuple(SectionChange((name,), "changed", changed=1) for name in sections),
        hunks=(tuple(lines),),
        added=0,
        removed=0,
        changed=sum(1 for line in lines if line.op == "changed"),
    )
    return ChangeRecord(
        id=record_id,
        source_id="vn-profile",
        country="VN",
        detected_at=NOW,
        kind="page",
        summary=change.summary(),
        change=change,
        source_name="Vietnam country profile",
        source_url="https://monitor.example/cp/vietnam.html",
    )


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_remote_text_never_breaks_a_header(config: Config) -> None:
    evil = "Policy\r\nBcc: victim@example.org\x00\x1b[31m " + "x" * 400
    line = DiffLine("changed", (evil,), "text", "new words", old="old words")
    composed = Composer(config).change_message(reader(), "VN", [page_record([evil], [line])], NOW)
    raw = composed.as_bytes()
    message = parse(raw)
    assert message["Bcc"] is None
    subject = str(message["Subject"])
    assert "\r" not in subject
    assert "\n" not in subject
    assert "\x00" not in subject
    assert "\x1b" not in subject
    assert len(subject) <= 180
    assert subject.startswith("Vietnam: country profile updated (Policy Bcc: victim@example.org")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_non_ascii_subjects_are_encoded(config: Config) -> None:
    name = "Política de prohibición – minas «antipersonal»"  # noqa: RUF001 (a real dash)
    line = DiffLine("changed", (name,), "text", "nuevo", old="viejo")
    composed = Composer(config).change_message(reader(), "VN", [page_record([name], [line])], NOW)
    raw = composed.as_bytes()
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]
    assert str(parse(raw)["Subject"]) == f"Vietnam: country profile updated ({name})"


def test_clean_header() -> None:
    assert clean_header("  a\tb\r\n c\u2028d\u200b ") == "a b c d"
    assert clean_header("x" * 300, limit=10) == "xxxxxxxxx…"


def test_a_huge_diff_is_cut_and_stays_under_100_kb(config: Config) -> None:
    lines = [
        DiffLine(
            "changed",
            ("Mine Ban Policy",),
            "text",
            f"Paragraph {n} now says " + "new " * 60,
            old=f"Paragraph {n} said " + "old " * 60,
        )
        for n in range(5000)
    ]
    record = page_record(["Mine Ban Policy"], lines)
    composed = Composer(config).change_message(reader(), "VN", [record], NOW)
    raw = composed.as_bytes()
    assert len(raw) < 100_000
    message = parse(raw)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "more changed lines not shown" in text
    assert "not shown here" in html
    assert "See the full change" in html
    assert "http://127.0.0.1:8080/changes/1" in text


def feed_record(link: str, title: str = "A headline") -> ChangeRecord:
    entry = Entry("k1", title, link, "2012-10-29T12:00:00Z", "Summary <b>text</b>")
    change = FeedChange("News", (EntryChange("new", entry),))
    return ChangeRecord(
        id=3,
        source_id="vn-news",
        country="VN",
        detected_at=NOW,
        kind="feed",
        summary=change.summary(),
        change=change,
        source_name="Monitor news",
        source_url="https://monitor.example/news.rss",
    )


def html_body(composed: Any) -> str:
    return parse(composed.as_bytes()).get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_only_http_links_from_feeds_become_links(config: Config) -> None:
    composer = Composer(config)
    bad = html_body(
        composer.change_message(reader(), "VN", [feed_record("javascript:alert(1)")], NOW)
    )
    assert "javascript:" not in bad
    assert "A headline" in bad
    assert "Summary &lt;b&gt;text&lt;/b&gt;" in bad
    good = composer.change_message(
        reader(), "VN", [feed_record("https://x.example/a?b=1&c=2")], NOW
    )
    assert 'href="https://x.example/a?b=1&amp;c=2"' in html_body(good)
    assert str(good.message["Subject"]) == "Vietnam: new entry: A headline"


def test_operators_can_override_templates(config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "change.txt").write_text("Custom text for {{ subscriber.email }}\n")
    record = page_record(["Policy"], [DiffLine("added", ("Policy",), "text", "New line")])
    composed = Composer(config).change_message(reader(), "VN", [record], NOW)
    text = parse(composed.as_bytes()).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == "Custom text for reader@example.org\n"
    assert "New line" in html_body(composed)  # the HTML template is still the bundled one


def test_alert_tells_the_operator_what_fails(config: Config) -> None:
    source = config.source("vn-profile")
    assert source is not None
    state = SourceState(
        id="vn-profile",
        country="VN",
        url=source.url,
        name=source.name,
        active=True,
        kind="page",
        extract_key=None,
        etag=None,
        last_modified=None,
        body_hash=None,
        content_hash=None,
        fingerprint=None,
        status="failing",
        failures=5,
        last_error="HTTP 503 Service Unavailable",
        last_warning=None,
        volatile=None,
        failing_since=NOW,
        alerted_at=None,
        last_checked_at=NOW,
        last_success_at=None,
        last_change_at=None,
        next_check_at=NOW,
    )
    composed = Composer(config).alert_message("ops@example.org", source, state, NOW)
    message = parse(composed.as_bytes())
    assert str(message["Subject"]) == "watcher: vn-profile has failed 5 checks in a row"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "HTTP 503 Service Unavailable" in body
    assert source.url in body


def test_tokens() -> None:
    token = make_token(42, "s3cr3t-s3cr3t-s3cr3t-xx")
    assert parse_token(token) == (42, "s3cr3t-s3cr3t-s3cr3t-xx")
    for tampered in ("42", "x.s3cr3t-s3cr3t-s3cr3t-xx", "42.short", "42.bad chars here!!!!!", ""):
        assert parse_token(tampered) is None


async def test_operator_is_alerted_once_per_run_of_failures(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    from tests.conftest import Clock
    from tests.mailing import outbox

    clock = Clock(START)
    config = mail_config(
        site, mail_server, tmp_path, [], service={"operator_email": "ops@readers.example"}
    )
    data = config.settings.checks
    assert data.alert_after == 5
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        site.overrides["/cp/vietnam.html"] = (503, {"Content-Type": "text/plain"}, b"down")
        for _ in range(7):
            clock.advance(hours=7)
            await cycle(app, site, "r1")
        alerts = [m for m in (await outbox(app)).get("sent", []) if m.kind == "alert"]
        assert len(alerts) == 1
        assert alerts[0].recipient == "ops@readers.example"
        del site.overrides["/cp/vietnam.html"]
        clock.advance(hours=7)
        await cycle(app, site, "r1")  # recovered: the next run of failures may alert again
    assert "has failed 5 checks in a row" in str(mail_server.received[0].message["Subject"])


def test_show_previews_the_email_and_outbox_lists_it(
    site: SiteServer,
    mail_server: MailServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_MAIL__PASSWORD", "s3cret-pw")
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = mail_server.settings()
    data["subscribers"] = data["subscribers"][:1]  # the editor, who follows every country
    harness = Harness(tmp_path, data, capsys)
    harness.check()
    site.revision = "r2"
    status, out = harness.check("--no-send")
    assert "Mail: 2 queued, left for 'watcher run' to deliver." in out
    assert mail_server.received == []
    status, out, _ = harness.cli("outbox")
    assert "Outbox: 2 queued, 0 sent, 0 failed, 0 cancelled." in out
    assert "editor@monitor.example" in out
    queued = json.loads(harness.cli("outbox", "--json")[1])
    assert {m["status"] for m in queued} == {"queued"}
    assert set(queued[0]) == {
        "id",
        "kind",
        "status",
        "recipient",
        "subject",
        "message_id",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "body_dropped_at",
    }

    profile = next(c for c in harness.changes() if c["source_id"] == "vn-profile")
    status, out, _ = harness.cli("show", str(profile["id"]), "--format", "email")
    assert status == 0
    preview = parse(out.encode())
    assert str(preview["Subject"]).startswith("Vietnam: country profile updated")
    assert preview["To"] == "subscriber@example.org"
    status, out, _ = harness.cli("show", str(profile["id"]), "--format", "html")
    assert out.startswith("<!DOCTYPE html>")
    assert "65/48" in out

    status, out = harness.check()  # a later run delivers what was queued
    assert "2 sent" in out
    assert len(mail_server.received) == 2
