"""Out-of-range input is a clear 4xx (or a meaningful answer), never a 500: ids beyond any
integer column, instants that exist but not in UTC's calendar, on the API and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import demo_data, make_config
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.web.app import create_web

TOKEN = "out-of-range-token-0123456789abcdef"
HUGE = "99999999999999999999"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return str(request.getfixturevalue("postgres_url"))  # ids are 32-bit there


@pytest.fixture
async def app(site: SiteServer, tmp_path: Path, database_url: str) -> AsyncIterator[App]:
    config = make_config(demo_data(site, database_url), tmp_path)
    async with open_app(config) as app:
        await run_pass(app, every=True)
        site.revision = "r2"
        await run_pass(app, every=True)
        yield app


@pytest.fixture
async def http(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=create_web(app, api_token=TOKEN), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        (f"/api/v1/changes/{HUGE}", {404, 422}),
        (f"/api/v1/changes/{2**31}", {404, 422}),
        ("/api/v1/changes/-1", {404, 422}),
        (f"/api/v1/changes?before={HUGE}", {200, 422}),
        ("/api/v1/changes?since=0001-01-01T00:00:00%2B14:00", {200}),
        ("/api/v1/changes?since=9999-12-31T23:59:59-14:00", {200}),
        ("/api/v1/changes?since=0001-01-01T00:00:00", {200}),
        (f"/changes/{HUGE}", {404, 422}),
        (f"/changes?before={HUGE}", {200, 422}),
    ],
)
async def test_out_of_range_input_is_answered(
    http: httpx.AsyncClient, path: str, statuses: set[int]
) -> None:
    answer = await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code in statuses, (answer.status_code, answer.text[:300])


async def test_instants_outside_utcs_calendar_mean_before_or_after_everything(
    http: httpx.AsyncClient,
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    early = await http.get("/api/v1/changes?since=0001-01-01T00:00:00%2B14:00", headers=auth)
    late = await http.get("/api/v1/changes?since=9999-12-31T23:59:59-14:00", headers=auth)
    assert len(early.json()) == 3  # every change of r2
    assert late.json() == []
