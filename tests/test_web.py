"""The web app over HTTP: pages, double opt-in, one-click unsubscribe, the API, health."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from sqlalchemy import update

from tests.conftest import (
    BASE,
    SAME_SITE,
    TOKEN,
    bearer,
    confirmation_link,
    demo_data,
    make_config,
    web_client,
)
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction, write_transaction
from watcher.store.messages import list_messages
from watcher.store.schema import sources
from watcher.store.subscribers import find_subscriber
from watcher.web.app import create_web


@pytest.fixture
async def watched(hostile_site: SiteServer, tmp_path: Path) -> AsyncIterator[App]:
    """The example site (with a script tag in its update) checked at r1 and r2."""
    config = make_config(demo_data(hostile_site, f"sqlite:///{tmp_path / 'w.db'}"), tmp_path)
    async with open_app(config) as app:
        await run_pass(app, every=True)
        hostile_site.revision = "r2"
        await run_pass(app, every=True)
        yield app


@pytest.fixture
async def client(watched: App) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(watched) as http:
        yield http


async def change_id(http: httpx.AsyncClient, source: str) -> int:
    found = await http.get("/api/v1/changes", params={"source": source}, headers=bearer())
    return int(found.json()[0]["id"])


async def test_pages_show_countries_changes_and_a_form(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert "Vietnam" in home.text
    assert "Lao PDR" in home.text
    assert 'action="/subscribe"' in home.text
    assert (await client.get("/countries/vn")).status_code == 200
    assert (await client.get("/countries/XX")).status_code == 404
    log = await client.get("/changes")
    assert log.status_code == 200
    assert "Cluster Munition Ban Policy: new section, 2 paragraphs and 1 footnote" in log.text
    assert (await client.get("/changes", params={"country": "LA"})).text.count("/changes/") >= 1
    assert (await client.get("/changes/9999")).status_code == 404


async def test_each_change_says_how_much_it_matters_and_why(client: httpx.AsyncClient) -> None:
    """Issue 28: every change has a significance (0 to 1) and its reasons, in the API, the
    change log and the change page; `min_significance` keeps only what scores as much."""
    every = (await client.get("/api/v1/changes", headers=bearer())).json()
    scores = {item["source_id"]: (item["significance"], item["reasons"]) for item in every}
    profile, profile_why = scores["vn-profile"]
    news, news_why = scores["la-updates"]
    assert 0.4 <= profile <= 1
    assert "section added: Cluster Munition Ban Policy" in profile_why
    assert "figures changed: Pro-mine ban UNGA voting record: 65/48 → 66/29, 2010 → 2011" in (
        profile_why
    )
    assert 0 < news < 0.4
    assert news_why == ["1 entry updated"]
    notable = (
        await client.get("/api/v1/changes", params={"min_significance": 0.4}, headers=bearer())
    ).json()
    assert {item["source_id"] for item in notable} == {"vn-profile", "vn-news"}  # new entries
    assert all(item["significance"] >= 0.4 for item in notable)
    refused = await client.get("/api/v1/changes", params={"min_significance": 2}, headers=bearer())
    assert refused.status_code == 422
    number = await change_id(client, "vn-profile")
    full = (await client.get(f"/api/v1/changes/{number}", headers=bearer())).json()
    assert (full["significance"], full["reasons"]) == (profile, profile_why)

    log = (await client.get("/changes")).text
    assert f"Significance {profile:.2f}" in log
    assert "section added: Cluster Munition Ban Policy" in log
    only = (await client.get("/changes", params={"min_significance": 0.4})).text
    assert f'href="/changes/{number}"' in only
    assert "Lao PDR submits" not in only
    assert "la-updates" not in only
    assert "Notable only (significance 0.40 or more)" in only
    page = (await client.get(f"/changes/{number}")).text
    assert f"Significance {profile:.2f}" in page


async def test_a_change_shows_its_marked_diff_inline_and_side_by_side(
    client: httpx.AsyncClient,
) -> None:
    number = await change_id(client, "vn-profile")
    inline = await client.get(f"/changes/{number}")
    assert inline.status_code == 200
    assert "<del>65/48</del><ins>66/29</ins>" in inline.text
    assert "Mine Ban Policy &gt; Policy" in inline.text
    assert "Last Updated: <del>02 November 2011</del>" in inline.text
    side = await client.get(f"/changes/{number}", params={"view": "side"})
    assert (
        "<td>Pro-mine ban UNGA voting record: Abstained on Resolution <del>65/48</del>" in side.text
    )
    assert "<ins>66/29</ins> in December <ins>2011</ins>" in side.text


async def test_remote_script_is_escaped_on_pages_and_in_feeds(client: httpx.AsyncClient) -> None:
    number = await change_id(client, "vn-profile")
    for page in (f"/changes/{number}", f"/changes/{number}?view=side"):
        body = (await client.get(page)).text
        assert "<script" not in body.lower()
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in body
    for feed in ("/changes.atom", "/countries/VN/changes.atom"):
        response = await client.get(feed)
        assert response.headers["content-type"].startswith("application/atom+xml")
        assert "<script" not in response.text.lower()
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo
        assert any("Vietnam" in entry.title for entry in parsed.entries)


async def test_a_feed_entry_carries_the_change_word_marked(client: httpx.AsyncClient) -> None:
    """Issue 28: a feed reader reads the change itself (its summary, sections and lines,
    word-marked) as the entry's HTML content, escaped, without clicking through."""
    number = await change_id(client, "vn-profile")
    response = await client.get("/countries/VN/changes.atom")
    assert "&lt;ins&gt;66/29&lt;/ins&gt;" in response.text  # HTML, escaped as XML text
    parsed = feedparser.parse(response.content)
    [entry] = [e for e in parsed.entries if e.link.endswith(f"/changes/{number}")]
    [content] = entry.content
    assert content.type == "text/html"
    html = content.value
    assert "<h4>Mine Ban Policy &gt; Mine ban policy overview</h4>" in html
    assert "Abstained on Resolution <del>65/48</del><ins>66/29</ins> in December" in html
    assert "Pro-mine ban UNGA voting record: 65/48 → 66/29, 2010 → 2011" in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html  # the page's own script, as text


async def test_subscribing_answers_the_same_whoever_asks(client: httpx.AsyncClient) -> None:
    form = {"countries": ["VN"], "frequency": "daily"}
    known = await client.post(
        "/subscribe", data={**form, "email": "editor@monitor.example"}, headers=SAME_SITE
    )
    unknown = await client.post(
        "/subscribe", data={**form, "email": "new@readers.example"}, headers=SAME_SITE
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "Check your inbox" in known.text


async def status_of(app: App, address: str) -> str | None:
    async with read_transaction(app.engine) as connection:
        found = await find_subscriber(connection, address)
    return found.status if found else None


async def test_double_opt_in(client: httpx.AsyncClient, watched: App) -> None:
    sent = await client.post(
        "/subscribe",
        headers=SAME_SITE,
        data={"email": "reader@readers.example", "countries": ["VN", "LA"], "frequency": "weekly"},
    )
    assert sent.status_code == 200
    assert await status_of(watched, "reader@readers.example") == "pending"
    link = await confirmation_link(watched, "reader@readers.example")
    page = await client.get(link)
    assert page.status_code == 200
    assert "Vietnam, Lao PDR" in page.text
    assert "<form" in page.text
    assert await status_of(watched, "reader@readers.example") == "pending"  # GET changed nothing
    done = await client.post(link, headers=SAME_SITE)
    assert done.status_code == 200
    assert "You are subscribed" in done.text
    async with read_transaction(watched.engine) as connection:
        reader = await find_subscriber(connection, "reader@readers.example")
    assert reader is not None
    assert (reader.status, reader.countries, reader.frequency) == ("active", ("LA", "VN"), "weekly")
    assert (await client.get(link)).status_code == 404  # a used link is spent


async def test_a_confirmation_link_expires(client: httpx.AsyncClient, watched: App) -> None:
    await client.post(
        "/subscribe", headers=SAME_SITE, data={"email": "late@readers.example", "countries": ["VN"]}
    )
    link = await confirmation_link(watched, "late@readers.example")
    real_clock = watched.clock
    watched.clock = lambda: real_clock() + timedelta(hours=49)
    try:
        assert (await client.get(link)).status_code == 404
        assert (await client.post(link, headers=SAME_SITE)).status_code == 404
    finally:
        watched.clock = real_clock


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": BASE},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_forms_refuse_cross_site_posts(
    client: httpx.AsyncClient, watched: App, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/subscribe", data={"email": "x@readers.example", "countries": ["VN"]}, headers=headers
    )
    assert response.status_code == 403
    assert await status_of(watched, "x@readers.example") is None


async def test_bad_input_is_explained(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/subscribe", data={"email": "not an address", "countries": ["XX"]}, headers=SAME_SITE
    )
    assert response.status_code == 400
    assert "valid email address" in response.text
    assert "at least one country" in response.text


async def test_subscribing_is_rate_limited_per_client(client: httpx.AsyncClient) -> None:
    codes = [
        (
            await client.post(
                "/subscribe",
                headers=SAME_SITE,
                data={"email": f"r{n}@readers.example", "countries": ["VN"]},
            )
        ).status_code
        for n in range(12)
    ]
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429, 429]


async def unsubscribe_link(app: App, address: str = "editor@monitor.example") -> str:
    await compose_pending(app, settle=timedelta(0))
    async with read_transaction(app.engine) as connection:
        message = next(m for m in await list_messages(connection) if m.recipient == address)
    header = re.search(rb"List-Unsubscribe: <([^>]+)>", message.body)
    assert header is not None
    return header.group(1).decode().removeprefix(BASE)


async def test_one_click_unsubscribe_as_a_mail_provider_sends_it(
    client: httpx.AsyncClient, watched: App
) -> None:
    link = await unsubscribe_link(watched)
    page = await client.get(link)
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    assert await status_of(watched, "editor@monitor.example") == "active"  # GET changed nothing
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}  # no cookie, no Origin
    response = await client.post(link, content=b"List-Unsubscribe=One-Click", headers=one_click)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert await status_of(watched, "editor@monitor.example") == "unsubscribed"
    again = await client.post(link, files={"List-Unsubscribe": (None, "One-Click")})  # multipart
    assert again.status_code == 200
    assert "You are unsubscribed" in again.text


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "999." + t.split(".", 1)[1],
        lambda t: "not-a-token",
        lambda t: t.split(".")[0],
    ],
)
async def test_wrong_or_tampered_tokens_get_a_plain_error(
    client: httpx.AsyncClient, watched: App, mangle: Any
) -> None:
    link = await unsubscribe_link(watched)
    token = link.rsplit("/", 1)[1]
    for path in (
        f"/unsubscribe/{mangle(token)}",
        f"/manage/{mangle(token)}",
        f"/manage/{mangle(token)}/data",
        f"/manage/{mangle(token)}/erase",
        f"/confirm/{mangle(token)}",
    ):
        for method in ("POST",) if path.endswith("/data") else ("GET", "POST"):
            response = await client.request(method, path, headers=SAME_SITE)
            assert response.status_code == 404, (method, path)
            assert "not valid" in response.text
    assert await status_of(watched, "editor@monitor.example") == "active"


async def test_the_manage_page_changes_countries_and_frequency(
    client: httpx.AsyncClient, watched: App
) -> None:
    link = (await unsubscribe_link(watched)).replace("/unsubscribe/", "/manage/")
    page = await client.get(link)
    assert page.status_code == 200
    assert "Every country" in page.text
    assert (
        await client.post(link, data={"countries": ["LA"], "frequency": "daily"})
    ).status_code == 403
    saved = await client.post(
        link, data={"countries": ["LA"], "frequency": "daily"}, headers=SAME_SITE
    )
    assert saved.status_code == 200
    async with read_transaction(watched.engine) as connection:
        editor = await find_subscriber(connection, "editor@monitor.example")
    assert editor is not None
    assert (editor.countries, editor.frequency) == (("LA",), "daily")


async def test_the_api_needs_its_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, bearer("wrong"), {"Authorization": "Basic " + TOKEN}, bearer("")):
        response = await client.get("/api/v1/sources", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    sources = await client.get("/api/v1/sources", headers=bearer())
    assert sources.status_code == 200
    assert {s["id"] for s in sources.json()} >= {"vn-profile", "la-news"}
    changes = (
        await client.get("/api/v1/changes", headers=bearer(), params={"country": "vn"})
    ).json()
    assert {c["source_id"] for c in changes} == {"vn-profile", "vn-news"}
    full = (await client.get(f"/api/v1/changes/{changes[0]['id']}", headers=bearer())).json()
    assert full["change"]["kind"] in ("page", "feed")
    people = (await client.get("/api/v1/subscribers", headers=bearer())).json()
    assert [person["email"] for person in people] == [  # in address order
        "ban-policy@monitor.example",
        "editor@monitor.example",
    ]
    checked = await client.post("/api/v1/sources/la-profile/check", headers=bearer())
    assert checked.status_code == 200
    assert checked.json()["status"] == "unchanged"
    assert (await client.post("/api/v1/sources/nope/check", headers=bearer())).status_code == 404
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/sources/{source_id}/check" in schema["paths"]
    assert "/subscribe" not in schema["paths"]


async def test_without_a_configured_token_the_api_refuses_everyone(watched: App) -> None:
    web = create_web(watched, api_token=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as http:
        assert (await http.get("/api/v1/sources", headers=bearer())).status_code == 401


async def test_health_metrics_and_headers(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "scheduler": "ok"}
    metrics = await client.get("/metrics")
    assert 'watcher_checks_total{outcome="changed"} 3.0' in metrics.text
    assert "watcher_check_duration_seconds_bucket" in metrics.text
    page = await client.get("/")
    assert page.headers["referrer-policy"] == "same-origin"
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_health_reports_a_dead_scheduler(watched: App) -> None:
    web = create_web(watched, alive=lambda: False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["scheduler"] == "not running"


async def test_request_logs_never_hold_tokens(
    client: httpx.AsyncClient, watched: App, caplog: pytest.LogCaptureFixture
) -> None:
    link = await unsubscribe_link(watched)
    with caplog.at_level(logging.INFO, logger="watcher.web"):
        await client.get(link)
    secret = link.rsplit(".", 1)[1]
    assert "GET /unsubscribe/<token> 200" in caplog.text
    assert secret not in caplog.text


async def test_one_confirmation_email_per_address_at_a_time(
    client: httpx.AsyncClient, watched: App
) -> None:
    for _ in range(3):
        response = await client.post(
            "/subscribe",
            headers=SAME_SITE,
            data={"email": "once@readers.example", "countries": ["VN"]},
        )
        assert response.status_code == 200
    async with read_transaction(watched.engine) as connection:
        sent = [m for m in await list_messages(connection) if m.recipient == "once@readers.example"]
    assert len(sent) == 1


async def test_a_warning_on_a_source_shows_escaped_and_in_the_api(
    client: httpx.AsyncClient, watched: App
) -> None:
    """A check that succeeded with something off (a lying charset, a recovered feed) says so
    beside the source: on the country's page, escaped, and in the API."""
    warning = 'the meta tag declares gb18030 <script>alert("x")</script>; read as UTF-8'
    async with write_transaction(watched.engine) as connection:
        await connection.execute(
            update(sources).where(sources.c.id == "vn-profile").values(last_warning=warning)
        )
    page = await client.get("/countries/vn")
    assert "ok, with a warning" in page.text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    listed = await client.get("/api/v1/sources", headers=bearer())
    states = {item["id"]: item for item in listed.json()}
    assert states["vn-profile"]["last_warning"] == warning
    assert states["vn-news"]["last_warning"] is None
