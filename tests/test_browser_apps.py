"""Rendered apps as people read them: Swagger UI, Redoc and docsify, built from their npm
packages (swagger-ui-dist, redoc, docsify; fetched at test time as the feedparser corpus is)
and watched with `fetch = "browser"`. Swagger UI puts each operation's method, path and
summary in a button, drawn after a 1.5 MB bundle is parsed and the API description is
fetched: before, every operation was lost (the buttons dropped with their content) and
renaming a path was "unchanged"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import one_source
from tests.packages import npm_package
from tests.servers import ScriptedServer, static

pytestmark = pytest.mark.browser

SWAGGER_UI = ("swagger-ui-dist", "5.36.0")
INDEX = b"""<!doctype html><html><head><title>Mine Action API</title>
<link rel="stylesheet" href="/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/swagger-ui-bundle.js"></script>
<script>window.onload = () => SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});
</script></body></html>"""


def description(path: str) -> bytes:
    spec: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Mine Action API", "version": "1.0"},
        "paths": {
            path: {
                "get": {
                    "summary": "Find a country's profile by its code",
                    "responses": {"200": {"description": "The profile"}},
                }
            },
            "/casualties": {
                "post": {
                    "summary": "Report casualties",
                    "responses": {"201": {"description": "Recorded"}},
                }
            },
        },
    }
    return json.dumps(spec).encode()


def api_docs(
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, tuple[bytes, str]],
    select: str,
) -> list[str]:
    """The app's files served beside the API description, watched in the browser: the
    lines of its baseline; then a path renamed in the description must be a change."""
    for path, (body, media) in files.items():
        scripted.routes[path] = static(body, media)
    scripted.routes["/openapi.json"] = static(description("/profiles/{code}"), "application/json")
    own = {"id": "api-docs", "url": scripted.url("/docs.html"), "fetch": "browser"}
    harness = one_source(tmp_path, capsys, {**own, "select": select}, {"timeout": "30s"})
    _, out = harness.check()
    assert "baseline  api-docs" in out, out
    _, document = harness.snapshot("api-docs")
    texts = [line.text for line in document.lines]  # type: ignore[union-attr]

    scripted.routes["/openapi.json"] = static(description("/countries/{code}"), "application/json")
    _, out = harness.check()
    assert "changed   api-docs" in out, out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "countries" in shown, shown
    return texts


def test_swagger_ui_operations_are_watched_and_a_renamed_path_is_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = npm_package(*SWAGGER_UI)
    files = {
        "/swagger-ui-bundle.js": (
            (package / "swagger-ui-bundle.js").read_bytes(),
            "text/javascript",
        ),
        "/swagger-ui.css": ((package / "swagger-ui.css").read_bytes(), "text/css"),
        "/docs.html": (INDEX, "text/html; charset=utf-8"),
    }
    texts = api_docs(scripted, tmp_path, capsys, files, "#swagger-ui")
    # One line an operation: its method, path and summary.
    assert "GET /profiles/{code} Find a country's profile by its code" in texts, texts
    assert "POST /casualties Report casualties" in texts, texts


REDOC = ("redoc", "2.5.2")
REDOC_INDEX = b"""<!doctype html><html><head><title>Mine Action API</title></head><body>
<redoc spec-url="/openapi.json"></redoc><script src="/redoc.standalone.js"></script>
</body></html>"""


def test_redoc_operations_are_watched_and_a_renamed_path_is_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Redoc (its npm package's standalone bundle) draws each operation's summary as a
    heading and its method and path in a button, after the description is fetched."""
    script = (npm_package(*REDOC) / "bundles" / "redoc.standalone.js").read_bytes()
    files = {
        "/redoc.standalone.js": (script, "text/javascript"),
        "/docs.html": (REDOC_INDEX, "text/html; charset=utf-8"),
    }
    texts = api_docs(scripted, tmp_path, capsys, files, ".api-content")
    assert "Find a country's profile by its code" in texts, texts
    assert any("/profiles/{code}" in text for text in texts), texts


DOCSIFY = ("docsify", "4.13.1")
DOCSIFY_INDEX = b"""<!doctype html><html><head><title>Monitor handbook</title></head><body>
<div id="app"></div><script>window.$docsify = {name: "Monitor handbook"};</script>
<script src="/docsify.min.js"></script></body></html>"""
HANDBOOK = """# Monitor handbook

## Casualties

The Monitor recorded {casualties} casualties in Viet Nam in 2025.

## Mine Ban Policy

Viet Nam has not acceded to the Mine Ban Treaty.
"""


def test_a_docsify_site_is_watched_as_it_renders_its_markdown(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docsify (its npm package) fetches README.md after load and renders it: the page is
    taken once the article holds text, and an edit of the markdown is a change."""
    package = npm_package(*DOCSIFY)
    script = (package / "lib" / "docsify.min.js").read_bytes()
    scripted.routes["/docsify.min.js"] = static(script, "text/javascript")
    scripted.routes["/"] = static(DOCSIFY_INDEX)
    scripted.routes["/README.md"] = static(HANDBOOK.format(casualties=48).encode(), "text/markdown")
    own = {
        "id": "handbook",
        "url": scripted.url("/"),
        "fetch": "browser",
        "select": ".markdown-section",
    }
    harness = one_source(tmp_path, capsys, own, {"timeout": "30s"})
    _, out = harness.check()
    assert "baseline  handbook" in out, out
    _, document = harness.snapshot("handbook")
    lines = [(line.section, line.text) for line in document.lines]  # type: ignore[union-attr]
    assert lines[0] == ((), "Monitor handbook")  # its title, over the sections
    assert (
        ("Casualties",),
        "The Monitor recorded 48 casualties in Viet Nam in 2025.",
    ) in lines, lines

    scripted.routes["/README.md"] = static(HANDBOOK.format(casualties=52).encode(), "text/markdown")
    _, out = harness.check()
    assert "changed   handbook  Casualties: 48 → 52" in out, out
