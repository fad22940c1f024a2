"""One error boundary per source: whatever goes wrong inside one check (here, an exception
nobody expected, raised while extracting or comparing) is that source's failed check, with a
reason and a logged traceback; the source backs off by `checks.retry`; the pass goes on; the
API's check answers 200 with the failure, not 500.

Extraction and comparison run in worker processes (`extract/bounded.py`), which a patch of a
module here does not reach: the tests replace the task the check hands the worker with
`explode`, which the worker imports from this module and runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import demo_data, make_config
from tests.harness import Harness
from watcher.app import open_app
from watcher.check import pipeline
from watcher.demo.site import SiteServer
from watcher.extract.kinds import Reading, read_response
from watcher.web.app import create_web


def explode(*_: object) -> None:
    raise RecursionError("maximum recursion depth exceeded (a page nobody expected)")


def explode_pages(kind: str, reading: Reading) -> object:
    """Reading as the worker does, but a page explodes (the feeds are read as ever)."""
    if kind == "page":
        explode()
    return read_response(kind, reading)


@pytest.fixture
def harness(site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Harness:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data.setdefault("checks", {})["retry"] = "7m"
    return Harness(tmp_path, data, capsys)


@pytest.mark.parametrize(
    ("target", "step", "replacement"),
    [("read_response", "extracting", explode_pages), ("diff_pages", "comparing", explode)],
)
def test_an_unexpected_error_is_that_sources_failed_check(
    target: str,
    step: str,
    replacement: Callable[..., object],
    harness: Harness,
    site: SiteServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert harness.check()[0] == 0
    site.revision = "r2"
    monkeypatch.setattr(pipeline, target, replacement)
    started = datetime.now(UTC)
    status, out, err = harness.cli("check", "--all")
    assert status == 3, out
    assert "Traceback" in err  # logged, for whoever fixes the bug
    assert "RecursionError: maximum recursion depth" in err
    states = harness.sources()
    broken = states["vn-profile"]
    assert broken["status"] == "failing"
    assert broken["last_error"] == (
        f"internal error while {step}: RecursionError: maximum recursion depth exceeded"
        " (a page nobody expected)"
    )
    due = datetime.fromisoformat(broken["next_check_at"]) - started
    assert timedelta(minutes=5) < due < timedelta(minutes=9)  # checks.retry, with jitter
    # Every other source of the pass was checked: the feeds changed at r2 as they should.
    changed = {change["source_id"] for change in harness.changes()}
    assert {"vn-news", "la-updates"} <= changed
    assert "vn-profile" not in changed


async def test_the_api_check_answers_with_the_failure(
    site: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), tmp_path)
    monkeypatch.setattr(pipeline, "read_response", explode)
    async with open_app(config) as app:
        web = create_web(app, api_token="t" * 32)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            answer = await http.post(
                "/api/v1/sources/vn-profile/check", headers={"Authorization": "Bearer " + "t" * 32}
            )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "failed"
    assert "RecursionError" in answer.json()["detail"]
