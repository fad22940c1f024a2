"""Sources on the desk (issue 27): added, edited, paused and removed through the API, kept in
the database across restarts and reloads, the file's own refused with its name; a source's
history read and any two versions compared."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Clock, bearer, demo_data, web_client, write_config
from tests.service import API_TOKEN, Running, service_data, start
from tests.smtp import MailServer
from watcher.app import App, open_app, refresh_desk, settle
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.loading import build_config

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = bearer(API_TOKEN)  # a `watcher run` of tests/service.py's
PROFILE = {"url": "", "country": "VN", "name": "Vietnam profile, again", "select": "#content"}


def config_of(site: SiteServer, tmp_path: Path) -> Any:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"]["maildir"] = str(tmp_path / "mail")
    return build_config(data, {}, tmp_path / "watcher.toml")


@pytest.fixture
async def desk(
    site: SiteServer, tmp_path: Path
) -> AsyncIterator[tuple[App, Clock, httpx.AsyncClient]]:
    clock = Clock(START)
    async with open_app(config_of(site, tmp_path), clock=clock) as app, web_client(app) as http:
        yield app, clock, http


def profile(site: SiteServer, **more: Any) -> dict[str, Any]:
    return {**PROFILE, "url": site.url("/cp/vietnam.html"), **more}


async def test_a_source_added_on_the_desk_is_checked_and_listed_as_the_desks(
    desk: tuple[App, Clock, httpx.AsyncClient], site: SiteServer
) -> None:
    app, _, http = desk
    added = await http.post("/api/v1/sources", json=profile(site, id="vn-desk"), headers=bearer())
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["id"], body["origin"], body["paused"], body["status"]) == (
        "vn-desk",
        "desk",
        False,
        "new",
    )
    assert body["next_check_at"] == "2026-03-02T09:00:00Z"  # due at once
    listed = {s["id"]: s for s in (await http.get("/api/v1/sources", headers=bearer())).json()}
    assert listed["vn-desk"]["origin"] == "desk"
    assert listed["vn-profile"]["origin"] == "config"
    result = await run_pass(app)
    assert {o.source.id: o.status for o in result.outcomes}["vn-desk"] == "baseline"
    checked = await http.get("/api/v1/sources/vn-desk", headers=bearer())
    assert checked.json()["status"] == "ok"


async def test_a_source_written_wrong_is_refused_naming_the_field(
    desk: tuple[App, Clock, httpx.AsyncClient], site: SiteServer
) -> None:
    _, _, http = desk
    bad = await http.post("/api/v1/sources", json=profile(site, select="div[["), headers=bearer())
    assert bad.status_code == 422
    assert [p["loc"] for p in bad.json()["detail"]] == [["body", "select"]]
    bad = await http.post("/api/v1/sources", json=profile(site, interval="soon"), headers=bearer())
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "interval"]
    new_country = profile(site, country="KH")
    bad = await http.post("/api/v1/sources", json=new_country, headers=bearer())
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "country_name"]
    new_country["country_name"] = "Cambodia"
    added = await http.post("/api/v1/sources", json=new_country, headers=bearer())
    assert added.status_code == 201
    assert (added.json()["country"], added.json()["country_name"]) == ("KH", "Cambodia")
    again = await http.post("/api/v1/sources", json=new_country, headers=bearer())
    assert again.status_code == 409
    assert "exists already" in again.json()["detail"]
    taken = await http.post(
        "/api/v1/sources", json=profile(site, id="vn-profile"), headers=bearer()
    )
    assert taken.status_code == 409
    assert "watcher.toml" in taken.json()["detail"]
    private = await http.post(
        "/api/v1/sources", json=profile(site, allow_private=True), headers=bearer()
    )
    assert private.status_code == 422  # the file's alone
    assert (await http.post("/api/v1/sources", json=profile(site))).status_code == 401


async def test_the_files_sources_refuse_edits_with_the_files_name(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    _, _, http = desk
    edit = await http.patch("/api/v1/sources/vn-profile", json={"paused": True}, headers=bearer())
    assert edit.status_code == 409
    assert "watcher.toml" in edit.json()["detail"]
    gone = await http.delete("/api/v1/sources/vn-profile", headers=bearer())
    assert gone.status_code == 409
    assert "watcher.toml" in gone.json()["detail"]
    unknown = await http.patch("/api/v1/sources/nothing", json={"paused": True}, headers=bearer())
    assert unknown.status_code == 404


async def test_pause_edit_resume_and_remove(
    desk: tuple[App, Clock, httpx.AsyncClient], site: SiteServer
) -> None:
    app, clock, http = desk
    await http.post("/api/v1/sources", json=profile(site, id="vn-desk"), headers=bearer())
    await run_pass(app)
    paused = await http.patch("/api/v1/sources/vn-desk", json={"paused": True}, headers=bearer())
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    clock.advance(days=1)
    result = await run_pass(app)
    assert "vn-desk" not in {o.source.id for o in result.outcomes}  # kept, not checked
    assert "vn-profile" in {o.source.id for o in result.outcomes}

    edited = await http.patch(
        "/api/v1/sources/vn-desk",
        json={"paused": False, "select": "#content h2", "name": None},
        headers=bearer(),
    )
    assert edited.status_code == 200
    assert edited.json()["name"] == "Vietnam: 127.0.0.1/cp/vietnam.html"  # back to the default
    assert edited.json()["next_check_at"] == "2026-03-03T09:00:00Z"  # checked at once
    result = await run_pass(app)
    # A new select is a new document: a fresh baseline, never a change of the page.
    assert {o.source.id: o.status for o in result.outcomes}["vn-desk"] == "baseline"

    removed = await http.delete("/api/v1/sources/vn-desk", headers=bearer())
    assert removed.status_code == 204
    assert (await http.get("/api/v1/sources/vn-desk", headers=bearer())).status_code == 404
    versions = await http.get("/api/v1/sources/vn-desk/snapshots", headers=bearer())
    assert versions.status_code == 200
    assert len(versions.json()) == 2
    clock.advance(days=1)
    assert "vn-desk" not in {o.source.id for o in (await run_pass(app)).outcomes}
    back = await http.post("/api/v1/sources", json=profile(site, id="vn-desk"), headers=bearer())
    assert back.status_code == 201  # a removed source's id may be used again


async def test_a_desk_source_survives_a_restart_and_a_reload(
    site: SiteServer, tmp_path: Path
) -> None:
    config = config_of(site, tmp_path)
    async with open_app(config, clock=Clock(START)) as app, web_client(app) as http:
        wanted = profile(site, id="kh-desk", country="KH", country_name="Cambodia")
        assert (await http.post("/api/v1/sources", json=wanted, headers=bearer())).is_success
        paused = profile(site, id="vn-paused")
        assert (await http.post("/api/v1/sources", json=paused, headers=bearer())).is_success
        await http.patch("/api/v1/sources/vn-paused", json={"paused": True}, headers=bearer())
    async with open_app(config, clock=Clock(START)) as app:
        assert app.config.origin("kh-desk") == "desk"
        assert app.config.country_name("KH") == "Cambodia"
        assert app.config.paused == {"vn-paused"}
        await settle(app, config_of(site, tmp_path))  # a reload (SIGHUP) of the file
        assert app.config.source("kh-desk") is not None
        assert app.config.source("vn-profile") is not None
        checked = {o.source.id for o in (await run_pass(app)).outcomes}
        assert "kh-desk" in checked
        assert "vn-paused" not in checked


async def test_another_worker_learns_of_a_desk_source_before_it_claims_it(
    site: SiteServer, tmp_path: Path
) -> None:
    config = config_of(site, tmp_path)
    clock = Clock(START)
    async with open_app(config, clock=clock) as one, open_app(config, clock=clock) as other:
        await run_pass(other)  # everything the file has is checked
        async with web_client(one) as http:
            added = await http.post("/api/v1/sources", json=profile(site), headers=bearer())
        assert added.status_code == 201
        source_id = added.json()["id"]
        assert other.config.source(source_id) is None
        assert await refresh_desk(other)  # as the scheduler does before each batch
        assert not await refresh_desk(other)  # nothing new since
        result = await run_pass(other)
        assert [o.source.id for o in result.outcomes] == [source_id]


async def test_a_desk_refresh_keeps_the_checks_under_way_within_their_bounds(
    site: SiteServer, tmp_path: Path
) -> None:
    """A worker that learns of a desk source mid-pass keeps the slots its checks hold: the
    bound on checks under way (`checks.concurrency`) never doubles. A reload that changes
    the concurrency takes new slots."""
    config = config_of(site, tmp_path)
    async with open_app(config, clock=Clock(START)) as one, open_app(config) as other:
        slots = other.check_slots
        for _ in range(2 * other.settings.checks.concurrency):
            await slots.acquire()  # every check slot held, as by a busy pass
        async with web_client(one) as http:
            added = await http.post("/api/v1/sources", json=profile(site), headers=bearer())
        assert added.status_code == 201
        assert await refresh_desk(other)
        assert other.check_slots is slots
        assert other.check_slots.locked()  # no room for another check
        changed = config.settings.model_copy(
            update={"checks": config.settings.checks.model_copy(update={"concurrency": 3})}
        )
        other.reconfigure(replace(other.config, settings=changed))
        assert other.check_slots is not slots
        assert not other.check_slots.locked()


async def test_a_sources_versions_are_listed_read_and_compared(
    desk: tuple[App, Clock, httpx.AsyncClient], site: SiteServer
) -> None:
    app, clock, http = desk
    await run_pass(app, ids=["vn-profile"])
    site.revision = "r2"
    clock.advance(hours=7)
    await run_pass(app, ids=["vn-profile"])
    found = await http.get("/api/v1/sources/vn-profile/snapshots", headers=bearer())
    assert found.status_code == 200
    newest, oldest = found.json()
    assert newest["id"] > oldest["id"]
    assert newest["taken_at"] > oldest["taken_at"]
    assert newest["lines"] > 5
    one = await http.get(f"/api/v1/sources/vn-profile/snapshots/{oldest['id']}", headers=bearer())
    assert one.status_code == 200
    assert sum(len(s["lines"]) for s in one.json()["sections"]) == oldest["lines"]
    compared = await http.get(
        f"/api/v1/sources/vn-profile/compare?from={oldest['id']}&to={newest['id']}",
        headers=bearer(),
    )
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert (body["from"], body["to"]) == (oldest["id"], newest["id"])
    logged = (await http.get("/api/v1/changes?source=vn-profile", headers=bearer())).json()
    assert body["summary"] == logged[0]["summary"]  # as the change log told it
    change = (await http.get(f"/api/v1/changes/{logged[0]['id']}", headers=bearer())).json()
    assert body["change"] == change["change"]
    same = await http.get(
        f"/api/v1/sources/vn-profile/compare?from={newest['id']}&to={newest['id']}",
        headers=bearer(),
    )
    assert same.json()["change"] is None
    assert same.json()["summary"] == "no difference"
    other = await http.get(f"/api/v1/sources/la-profile/snapshots/{oldest['id']}", headers=bearer())
    assert other.status_code == 404  # another source's version


async def test_recheck_makes_a_country_or_everything_due(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    app, clock, http = desk
    await run_pass(app)
    clock.advance(minutes=5)
    assert await run_pass(app) is not None
    due = await http.post("/api/v1/recheck?country=la", headers=bearer())
    assert due.json() == {"due": 3}
    checked = {o.source.id for o in (await run_pass(app)).outcomes}
    assert checked == {"la-profile", "la-updates", "la-news"}
    every = await http.post("/api/v1/recheck", headers=bearer())
    assert every.json() == {"due": 5}
    assert (await http.post("/api/v1/recheck?country=ZZ", headers=bearer())).status_code == 404


def test_the_command_line_adds_edits_pauses_and_removes_and_reads_history(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.harness import Harness

    harness = Harness(tmp_path, demo_data(site, f"sqlite:///{tmp_path / 'w.db'}"), capsys)
    url = site.url("/cp/vietnam.html")
    status, out, err = harness.cli(
        "sources", "add", url, "--country", "KH", "--select", "#content", "--id", "kh-desk"
    )
    assert status == 2
    assert "country_name: KH is a new country: give its name" in err
    status, out, _ = harness.cli(
        "sources", "add", url, "--country", "KH", "--country-name", "Cambodia", "--id", "kh-desk"
    )
    assert status == 0, out
    assert "Added kh-desk (Cambodia: 127.0.0.1/cp/vietnam.html)" in out
    assert harness.sources()["kh-desk"]["origin"] == "desk"
    status, _, err = harness.cli("sources", "edit", "kh-desk", "--select", "div[[")
    assert status == 2
    assert "select:" in err
    status, out, _ = harness.cli("sources", "edit", "kh-desk", "--name", "Cambodia profile")
    assert status == 0
    assert harness.sources()["kh-desk"]["name"] == "Cambodia profile"
    status, _, err = harness.cli("sources", "edit", "vn-profile", "--select", "main")
    assert status == 2
    assert "watcher.toml: edit it there" in err
    status, out, _ = harness.cli("sources", "pause", "kh-desk")
    assert (status, out.strip()) == (0, "kh-desk is paused.")
    status, out, _ = harness.cli("sources")
    row = next(line for line in out.splitlines() if line.startswith("kh-desk"))
    assert "desk" in row
    assert "paused" in row
    assert harness.cli("sources", "resume", "kh-desk")[0] == 0
    assert harness.sources()["kh-desk"]["paused"] is False

    assert harness.check()[0] == 0
    site.revision = "r2"
    status, out, _ = harness.cli("check", "kh-desk")
    assert status == 0
    status, out, _ = harness.cli("history", "kh-desk")
    assert status == 0
    assert "VERSION" in out
    versions = [int(line.split()[0]) for line in out.splitlines() if line[:1].isdigit()]
    assert len(versions) == 2
    status, out, _ = harness.cli("history", "kh-desk", "--compare", *map(str, versions))
    assert status == 0
    assert "Summary:" in out
    assert "{+" in out
    status, out, _ = harness.cli("history", "kh-desk", str(versions[0]))
    assert status == 0
    assert f"version {versions[0]}" in out
    status, _, err = harness.cli("history", "kh-desk", "999")
    assert status == 2
    assert "no version 999" in err
    status, out, _ = harness.cli("sources", "remove", "kh-desk")
    assert status == 0
    assert "kh-desk" not in harness.sources()
    assert harness.cli("history", "kh-desk")[0] == 0  # its history stays


def test_a_desk_source_survives_sighup_and_a_restart_of_the_service(
    site: SiteServer, mail_server: MailServer, tmp_path: Path, running: list[Running]
) -> None:
    data = service_data(site, mail_server, tmp_path, interval="6h")
    config = write_config(tmp_path, data)
    service = start(config)
    running.append(service)
    wanted = {**profile(site, id="kh-desk", country="KH", country_name="Cambodia")}
    added = httpx.post(f"{service.base}/api/v1/sources", json=wanted, headers=TOKEN)
    assert added.status_code == 201, added.text
    service.wait_for(
        lambda: service.api("/sources/kh-desk")["status"] == "ok", timeout=20, what="its check"
    )
    del data["countries"][1]  # Lao PDR leaves the file; the desk's Cambodia stays
    write_config(tmp_path, data)
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: len(service.api("/sources")) == 3, timeout=10, what="the reload")
    assert {s["id"] for s in service.api("/sources")} == {"vn-profile", "vn-news", "kh-desk"}
    assert service.stop()[0] == 0
    again = start(config)
    running.append(again)
    kept = again.api("/sources/kh-desk")
    assert (kept["origin"], kept["country_name"], kept["status"]) == ("desk", "Cambodia", "ok")
    refused = httpx.delete(f"{again.base}/api/v1/sources/vn-profile", headers=TOKEN)
    assert refused.status_code == 409
    assert str(config) in refused.json()["detail"]  # the file's own, named
    assert again.stop()[0] == 0


def test_every_worker_checks_a_source_another_worker_added(
    site: SiteServer,
    mail_server: MailServer,
    postgres_url: str,
    tmp_path: Path,
    running: list[Running],
) -> None:
    """Two `watcher run` workers on one PostgreSQL database: a desk source added through one
    is checked once, by whichever claims it first, and both list it."""
    workers = []
    for index in range(2):
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        data = service_data(site, mail_server, folder, interval="6h")
        data["service"]["database"] = postgres_url
        workers.append(start(write_config(folder, data)))
        running.append(workers[-1])
    for worker in workers:
        worker.wait_for(lambda w=worker: all_ok(w), timeout=30, what="baselines")
    before = site.requests["/cp/lao-pdr.html"]
    url = site.url("/cp/lao-pdr.html")
    wanted = {"url": url, "country": "LA", "id": "la-desk", "select": "#content"}
    added = httpx.post(f"{workers[0].base}/api/v1/sources", json=wanted, headers=TOKEN)
    assert added.status_code == 201, added.text
    workers[1].wait_for(
        lambda: workers[1].api("/sources/la-desk")["status"] == "ok", timeout=30, what="its check"
    )
    assert workers[1].api("/sources/la-desk")["origin"] == "desk"
    time.sleep(2)
    assert site.requests["/cp/lao-pdr.html"] == before + 1  # checked once, not once a worker
    for worker in workers:
        assert worker.stop()[0] == 0


def all_ok(worker: Running) -> bool:
    return all(source["status"] == "ok" for source in worker.api("/sources"))


async def test_every_operation_of_the_desks_contract_is_in_the_openapi_document(
    desk: tuple[App, Clock, httpx.AsyncClient],
) -> None:
    """Issue 27's API contract, each operation documented with its answers."""
    _, _, http = desk
    schema = (await http.get("/api/v1/openapi.json", headers=bearer())).json()
    contract = {
        ("post", "/api/v1/preview"): {"200", "401", "422"},
        ("post", "/api/v1/sources"): {"201", "401", "409", "422"},
        ("patch", "/api/v1/sources/{source_id}"): {"200", "401", "404", "409", "422"},
        ("delete", "/api/v1/sources/{source_id}"): {"204", "401", "404", "409"},
        ("get", "/api/v1/sources/{source_id}/snapshots"): {"200", "401", "404"},
        ("get", "/api/v1/sources/{source_id}/snapshots/{snapshot_id}"): {"200", "401", "404"},
        ("get", "/api/v1/sources/{source_id}/compare"): {"200", "401", "404", "422"},
        ("post", "/api/v1/changes/{change_id}/review"): {"200", "401", "404", "409", "422"},
        ("get", "/api/v1/subscribers"): {"200", "401"},
        ("delete", "/api/v1/subscribers/{email}"): {"204", "401", "404", "409"},
        ("post", "/api/v1/subscribers/{email}/resend"): {"200", "401", "404", "409"},
    }
    for (method, path), answers in contract.items():
        operation = schema["paths"][path][method]
        assert answers <= set(operation["responses"]), (method, path)
    source = schema["components"]["schemas"]["SourceOut"]["properties"]
    assert source["origin"]["enum"] == ["config", "desk"]
    assert source["paused"]["type"] == "boolean"
    compared = schema["components"]["schemas"]["CompareOut"]["properties"]
    assert {"from", "to", "summary", "change"} <= set(compared)


async def test_a_preview_with_a_country_code_written_wrong_names_the_field(
    desk: tuple[App, Clock, httpx.AsyncClient], site: SiteServer
) -> None:
    from watcher.config import ConfigError
    from watcher.loading import source_from

    app, _, _ = desk
    with pytest.raises(ConfigError) as refused:
        source_from({"url": site.url("/cp/vietnam.html")}, app.config, "!!")
    assert refused.value.problems == ["country: '!!' is not a country code (e.g. 'VN')"]
