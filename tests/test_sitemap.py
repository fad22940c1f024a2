"""Sitemaps (`kind = "sitemap"`, `extract/kinds/sitemap.py`): the pages a site lists, a line
each; with `documents`, the listed pages followed as sources of the country (at most
`max_documents`), a page added to the sitemap named by the change. Real `watcher` commands,
a real HTTP server, SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.configs import source
from tests.harness import one_source
from tests.servers import ScriptedServer, static
from tests.test_linked_scenario import by_url
from watcher.extract import ExtractError
from watcher.extract.kinds import Reading, detect
from watcher.extract.kinds.sitemap import SitemapKind


def sitemap(urls: list[str]) -> bytes:
    listed = "".join(
        f"<url><loc>{url}</loc><lastmod>2026-12-0{n % 9 + 1}</lastmod></url>"
        for n, url in enumerate(urls)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{listed}</urlset>'
    ).encode()


def test_a_sitemap_is_its_addresses_and_the_matching_ones_are_followed() -> None:
    body = sitemap(
        ["https://m.example/profiles/vn.html", "https://m.example/about", "ftp://m.example/x"]
    )
    assert detect(body, "application/xml").name == "sitemap"
    settings = source(url="https://m.example/sitemap.xml", kind="sitemap", documents="/profiles/")
    document, _ = SitemapKind().read(Reading(body, "application/xml", settings))
    assert [(line.section, line.kind, line.text) for line in document.lines] == [  # type: ignore[union-attr]
        (("Pages",), "document", "m.example/profiles/vn.html"),
        (("Pages",), "item", "m.example/about"),
    ]
    assert document.documents == (  # type: ignore[union-attr]
        ("https://m.example/profiles/vn.html", "m.example/profiles/vn.html"),
    )


def test_a_sitemap_that_declares_entities_is_read_without_expanding_them() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol3;</loc></url>
<url><loc>https://m.example/a</loc></url></urlset>"""
    document, _ = SitemapKind().read(Reading(laughs, "application/xml", source(kind="sitemap")))
    assert [line.text for line in document.lines] == ["m.example/a"]  # type: ignore[union-attr]
    with pytest.raises(ExtractError, match="not a sitemap"):
        SitemapKind().read(Reading(b"<rss/>", "application/xml", source(kind="sitemap")))


def test_a_page_added_to_the_sitemap_is_named_and_followed_within_the_cap(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def url(path: str) -> str:
        return scripted.url(path)

    for code in ("vn", "la", "kh", "th"):
        scripted.routes[f"/profiles/{code}.html"] = static(
            f"<html><body><h2>Mine Ban Policy</h2><p>{code} profile.</p></body></html>".encode()
        )
    listed = [url("/profiles/vn.html"), url("/about.html"), url("/profiles/la.html")]
    scripted.routes["/sitemap.xml"] = static(sitemap(listed), "application/xml")
    own = {
        "id": "site-map",
        "url": url("/sitemap.xml"),
        "kind": "sitemap",
        "documents": "/profiles/",
        "max_documents": 3,
    }
    harness = one_source(tmp_path, capsys, own, {"timeout": "5s"})
    _, out = harness.check()
    assert "baseline  site-map" in out, out
    followed = by_url(harness)
    assert {name for name, item in followed.items() if item["linked_from"] == "site-map"} == {
        "vn.html",
        "la.html",
    }
    assert "about.html" not in followed

    scripted.routes["/sitemap.xml"] = static(
        sitemap([*listed, url("/profiles/kh.html"), url("/profiles/th.html")]), "application/xml"
    )
    _, out = harness.check()
    host = url("/").split("//")[1].rstrip("/")
    assert f"changed   site-map  New document: {host}/profiles/kh.html" in out, out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "  | Mine Ban Policy" in shown  # the new page's first lines
    followed = by_url(harness)
    linked = {name for name, item in followed.items() if item["linked_from"] == "site-map"}
    assert linked == {"vn.html", "la.html", "kh.html"}  # the cap: th.html is not followed
