"""Rendered apps as people read them: Swagger UI, built from its npm package (swagger-ui-dist,
fetched at test time as the feedparser corpus is), watched with `fetch = "browser"`. Each
operation's method, path and summary are in a button, drawn after a 1.5 MB bundle is parsed
and the API description is fetched: before, every operation was lost (the buttons dropped
with their content) and renaming a path was "unchanged"."""

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


def test_swagger_ui_operations_are_watched_and_a_renamed_path_is_a_change(
    scripted: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = npm_package(*SWAGGER_UI)
    for name, media in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
    ]:
        scripted.routes[f"/{name}"] = static((package / name).read_bytes(), media)
    scripted.routes["/docs.html"] = static(INDEX)
    scripted.routes["/openapi.json"] = static(description("/profiles/{code}"), "application/json")
    own = {
        "id": "api-docs",
        "url": scripted.url("/docs.html"),
        "fetch": "browser",
        "select": "#swagger-ui",
    }
    harness = one_source(tmp_path, capsys, own, {"timeout": "30s"})
    _, out = harness.check()
    assert "baseline  api-docs" in out, out
    _, document = harness.snapshot("api-docs")
    texts = [line.text for line in document.lines]  # type: ignore[union-attr]
    # One line an operation: its method, path and summary.
    assert "GET /profiles/{code} Find a country's profile by its code" in texts, texts
    assert "POST /casualties Report casualties" in texts, texts

    scripted.routes["/openapi.json"] = static(description("/countries/{code}"), "application/json")
    _, out = harness.check()
    assert "changed   api-docs" in out, out
    (change,) = harness.changes()
    _, shown, _ = harness.cli("show", str(change["id"]))
    assert "countries" in shown, shown
