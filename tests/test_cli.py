"""The review commands as an editor and an operator read them."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import demo_data
from tests.harness import Harness
from watcher.cli import build_parser
from watcher.demo.site import SiteServer


@pytest.fixture
def harness(site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Harness:
    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    harness.check()
    site.revision = "r2"
    harness.check()
    return harness


def test_log_lists_changes_newest_first(harness: Harness) -> None:
    status, out, _ = harness.cli("log")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "CHANGE",
        "DETECTED",
        "COUNTRY",
        "SOURCE",
        "SIGNIFICANCE",
        "SUMMARY",
    ]
    assert "Last Updated: 02 November 2011 → 29 October 2012" in out
    assert "Cluster Munition Ban Policy: new section, 2 paragraphs and 1 footnote" in out
    ids = [int(line.split()[0].lstrip("#")) for line in lines[1:4]]
    assert ids == sorted(ids, reverse=True)
    status, out, _ = harness.cli("log", "--country", "la")
    assert "la-updates" in out
    assert "vn-profile" not in out
    status, out, _ = harness.cli("log", "--source", "vn-news", "--json")
    assert [item["source_id"] for item in json.loads(out)] == ["vn-news"]
    status, out, _ = harness.cli("log", "--min-significance", "0.4", "--json")
    notable = json.loads(out)
    assert {item["source_id"] for item in notable} == {"vn-profile", "vn-news"}
    assert all(item["significance"] >= 0.4 and item["reasons"] for item in notable)
    with pytest.raises(SystemExit) as refused:
        harness.cli("log", "--min-significance", "high")
    assert refused.value.code == 2
    assert "'high' is not a number from 0 to 1" in harness.capsys.readouterr().err
    status, out, _ = harness.cli("log", "--since", "2999-01-01")
    assert "No changes recorded for this filter." in out
    status, out, _ = harness.cli("log", "--since", "1d", "--limit", "1", "--json")
    assert len(json.loads(out)) == 1
    status, _, err = harness.cli("log", "--since", "yesterday")
    assert status == 2
    assert "--since: 'yesterday' is not a date" in err


def test_show_reads_like_an_editors_summary(harness: Harness) -> None:
    profile = next(c for c in harness.changes() if c["source_id"] == "vn-profile")
    status, out, _ = harness.cli("show", str(profile["id"]))
    assert status == 0
    assert f"Change #{profile['id']} · Vietnam (VN)" in out
    assert "\nSignificance: 0." in out
    assert "section added: Cluster Munition Ban Policy" in out
    assert "\nLast Updated: 02 November 2011 → 29 October 2012\n" in out
    assert "\nPro-mine ban UNGA voting record: 65/48 → 66/29, 2010 → 2011\n" in out
    assert "\nCluster Munition Ban Policy: new section, 2 paragraphs and 1 footnote\n" in out
    assert "\nMine Ban Policy: 8 December 2010 → 2 December 2011, 65/48 → 66/29, 1 paragraph" in out
    assert "@@ Mine Ban Policy > Policy" in out
    assert "Resolution [-65/48-]{+66/29+} in December [-2010-]{+2011+}" in out
    assert "@@ Cluster Munition Ban Policy > Policy (new)" in out
    assert "~ Last Updated" not in out  # stated once, in the summary above
    assert " + {+Vietnam has not joined the Convention on Cluster Munitions." in out
    assert "Marks: [-removed text-] {+added text+}" in out
    feed = next(c for c in harness.changes() if c["source_id"] == "la-updates")
    status, out, _ = harness.cli("show", str(feed["id"]))
    assert "Updated: Lao PDR submits Article 7 transparency report (corrected) (2012-05-02)" in out
    assert "Title: Lao PDR submits Article 7 transparency report{+ (corrected)+}" in out


def test_show_json_is_the_documented_shape(harness: Harness) -> None:
    profile = next(c for c in harness.changes() if c["source_id"] == "vn-profile")
    data = harness.show(profile["id"])
    assert set(data) == {
        "id",
        "detected_at",
        "country",
        "country_name",
        "source_id",
        "source_name",
        "url",
        "kind",
        "summary",
        "significance",
        "reasons",
        "review",
        "change",
    }
    assert data["review"] is None  # nobody reviews the demo's countries
    assert set(data["change"]) == {
        "kind",
        "title",
        "updated",
        "sections",
        "stats",
        "hunks",
        "renamed",
        "size",
    }
    assert set(data["change"]["stats"]) == {"added", "removed", "changed", "moved"}
    line = data["change"]["hunks"][0][0]
    assert set(line) == {"op", "section", "kind", "text"}
    status, _, err = harness.cli("show", "999")
    assert status == 2
    assert "there is no change #999" in err


def test_sources_table_and_json(harness: Harness) -> None:
    status, out, _ = harness.cli("sources")
    assert status == 0
    assert out.splitlines()[0].split()[:4] == ["ID", "COUNTRY", "KIND", "STATUS"]
    assert "la-news" in out
    data = harness.sources()
    assert set(data["vn-profile"]) == {
        "id",
        "country",
        "country_name",
        "name",
        "url",
        "kind",
        "status",
        "failures",
        "last_error",
        "last_warning",
        "noise_lines",
        "failing_since",
        "last_checked_at",
        "last_success_at",
        "last_change_at",
        "next_check_at",
        "origin",
        "linked_from",
        "paused",
    }
    assert (data["vn-profile"]["origin"], data["vn-profile"]["paused"]) == ("config", False)
    assert data["vn-profile"]["linked_from"] is None
    assert data["vn-profile"]["noise_lines"] == 0
    assert data["vn-profile"]["last_change_at"] is not None
    assert data["la-profile"]["last_change_at"] is None


def test_subscribe_unsubscribe_and_list(harness: Harness) -> None:
    status, out, _ = harness.cli(
        "subscribe", "Desk@Example.org", "vn", "LA", "--frequency", "daily"
    )
    assert status == 0
    assert "Desk@Example.org follows Vietnam, Lao PDR (daily)." in out
    status, out, _ = harness.cli("subscribe", "desk@example.org", "VN")
    assert "follows Vietnam, Lao PDR (daily)" in out  # same address, case aside; frequency kept
    status, out, _ = harness.cli(
        "subscribe", "desk@example.org", "--section", "*: Casualties", "--keyword", "accede"
    )
    assert 'follows Vietnam, Lao PDR, Casualties in every country, the keyword "accede"' in out
    status, out, _ = harness.cli(
        "subscribe", "quiet@example.org", "--section", "VN: Casualties", "--no-news"
    )
    assert status == 0
    assert "follows Casualties of Vietnam, not Vietnam's news" in out
    status, out, _ = harness.cli("subscribe", "choosy@example.org", "VN", "--notable")
    assert "choosy@example.org follows Vietnam: only notable changes (immediate)." in out
    status, out, _ = harness.cli("subscribe", "choosy@example.org", "LA")
    assert "follows Vietnam, Lao PDR: only notable changes" in out  # not given: kept
    status, out, _ = harness.cli("subscribe", "choosy@example.org", "LA", "--no-notable")
    assert "follows Vietnam, Lao PDR (immediate)." in out
    status, _, err = harness.cli("subscribe", "x@example.org", "--section", "XX: Casualties")
    assert status == 2
    assert "unknown country code XX" in err
    status, _, err = harness.cli("subscribe", "x@example.org")
    assert status == 2
    assert "name a country, a --section or a --keyword" in err
    status, out, _ = harness.cli("subscribers", "--json")
    people = {item["email"]: item for item in json.loads(out)}
    assert people["Desk@Example.org"]["countries"] == ["LA", "VN"]
    assert people["Desk@Example.org"]["sections"] == [{"country": "*", "section": "Casualties"}]
    assert people["Desk@Example.org"]["keywords"] == ["accede"]
    assert people["quiet@example.org"]["news_off"] == ["VN"]
    assert people["quiet@example.org"]["notable"] is False
    assert people["editor@monitor.example"]["origin"] == "config"
    assert "token" not in people["Desk@Example.org"]
    status, out, _ = harness.cli("unsubscribe", "desk@example.org", "LA")
    assert "now follows VN" in out
    status, out, _ = harness.cli("unsubscribe", "desk@example.org")
    assert "is unsubscribed" in out
    status, out, _ = harness.cli("subscribers")
    assert "desk@example.org" not in out.lower()
    status, out, _ = harness.cli("subscribers", "--all")
    assert "unsubscribed" in out
    status, _, err = harness.cli("subscribe", "desk@example.org", "XX")
    assert status == 2
    assert "unknown country code XX (known: LA, VN)" in err
    status, _, err = harness.cli("subscribe", "not-an-address", "VN")
    assert status == 2
    assert "not an email address" in err
    status, _, err = harness.cli("unsubscribe", "nobody@example.org")
    assert status == 2


def test_a_config_subscriber_who_unsubscribed_stays_unsubscribed(harness: Harness) -> None:
    harness.cli("unsubscribe", "editor@monitor.example")
    status, out, _ = harness.cli("subscribers", "--all", "--json")  # reopening re-syncs config
    assert status == 0
    [editor] = [item for item in json.loads(out) if item["email"] == "editor@monitor.example"]
    assert editor["status"] == "unsubscribed"


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, command in commands.items():
        text = command.format_help()
        assert "example:" in text, name
        assert f"watcher {name}" in text, name


def test_check_draws_a_progress_bar_on_a_terminal_and_plain_lines_otherwise(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    command = [sys.executable, "-m", "watcher", "--config", str(harness.path), "check", "--all"]
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command, stdout=secondary, stderr=secondary, env={**os.environ, "TERM": "xterm"}
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the other end closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    os.close(primary)
    text = output.decode()
    assert "5/5 checked" in text
    assert "█" * 30 in text
    assert "\x1b[" in text  # colours and line rewrites on a terminal
    piped = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert "\x1b[" not in piped.stdout
    assert "█" not in piped.stdout
    assert len(piped.stdout.splitlines()) == 6  # one line per source, then the summary
