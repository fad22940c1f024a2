"""A source tried before it is added (issue 27): `watcher try` and `POST /api/v1/preview`
fetch and read it as its check would, and show what its `select` keeps, section by section,
with what `exclude` and `ignore` took away; a setting written wrong names its field, and a
fetch that fails says what a failed check would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import bearer, demo_data, web_client
from tests.harness import Harness
from watcher.app import open_app
from watcher.demo.site import SiteServer
from watcher.loading import build_config

IGNORED = r"^Previously, Vietnam attended"


def test_watcher_try_prints_what_a_select_keeps(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    url = f"{site.base_url}/cp/vietnam.html"
    status, out, err = harness.cli(
        "try", url, "--select", "#content", "--exclude", ".footnotes", "--ignore", IGNORED
    )
    assert status == 0, err
    assert out.startswith("Kind: page · Last Updated: ")
    assert "\nMine Ban Policy > Policy\n" in out
    assert "Taken away by exclude and ignore" in out
    kept, _, taken = out.partition("Taken away by exclude and ignore")
    assert "Previously, Vietnam attended" not in kept
    assert "Previously, Vietnam attended" in taken
    assert "[2] CMC meeting" in taken  # a footnote, excluded

    status, out, _ = harness.cli("try", url, "--select", "#content", "--json")
    found = json.loads(out)
    assert found["kind"] == "page"
    assert found["removed"] == []
    assert any(section["path"][:1] == ["Mine Ban Policy"] for section in found["sections"])
    assert all(section["lines"] for section in found["sections"])
    assert {s["status"] for s in harness.sources().values()} == {"new"}  # nothing written
    assert harness.changes() == []


def test_watcher_try_names_the_setting_written_wrong_and_the_failure(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    url = f"{site.base_url}/cp/vietnam.html"
    status, _, err = harness.cli("try", url, "--select", "div[[")
    assert status == 2
    assert "select: invalid CSS selector" in err
    status, _, err = harness.cli("try", url, "--kind", "feed", "--select", "#content")
    assert status == 2
    assert "'select' does not apply to kind = 'feed'" in err
    status, _, err = harness.cli("try", f"{site.base_url}/cp/nowhere.html")
    assert status == 3
    assert "HTTP 404" in err
    status, _, err = harness.cli("try", url, "--select", "#nothing-here")
    assert status == 3
    assert "matched nothing" in err


async def test_the_api_previews_a_source_as_the_command_line_does(
    site: SiteServer, tmp_path: Path
) -> None:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    config = build_config(data, {}, tmp_path / "watcher.toml")
    url = f"{site.base_url}/cp/vietnam.html"
    async with open_app(config) as app, web_client(app) as http:
        wanted = {"url": url, "select": "#content", "ignore": [IGNORED]}
        assert (await http.post("/api/v1/preview", json=wanted)).status_code == 401
        answer = await http.post("/api/v1/preview", json=wanted, headers=bearer())
        assert answer.status_code == 200
        found = answer.json()
        assert set(found) == {"kind", "last_updated", "sections", "warnings", "removed"}
        assert found["kind"] == "page"
        assert found["last_updated"]
        assert [line[:28] for line in found["removed"]] == ["Previously, Vietnam attended"]
        assert any(section["path"][:1] == ["Mine Ban Policy"] for section in found["sections"])

        wrong = await http.post(
            "/api/v1/preview", json={"url": url, "select": "div[["}, headers=bearer()
        )
        assert wrong.status_code == 422
        assert wrong.json()["detail"][0]["loc"] == ["body", "select"]
        assert "invalid CSS selector" in wrong.json()["detail"][0]["msg"]
        gone = await http.post(
            "/api/v1/preview", json={"url": f"{site.base_url}/cp/x.html"}, headers=bearer()
        )
        assert gone.status_code == 422
        assert "HTTP 404" in gone.json()["detail"]
        feed = await http.post(
            "/api/v1/preview", json={"url": f"{site.base_url}/news.rss"}, headers=bearer()
        )
        assert feed.json()["kind"] == "feed"
        assert feed.json()["sections"][0]["path"]  # each entry under its title

        schema = (await http.get("/api/v1/openapi.json")).json()
        assert "/api/v1/preview" in schema["paths"]
