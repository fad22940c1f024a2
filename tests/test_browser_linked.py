"""Linked documents in headless Chromium against `watcher run`: a profile gains a link to a
new PDF report; the change page names it with its first lines and links to it, the API's
change carries it, and the desk's sources page shows the report followed, "linked from" the
profile. Screenshots in docs/screenshots/ (`WATCHER_SCREENSHOTS=docs` to refresh them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests import pdfs
from tests.browsing import shot
from tests.conftest import write_config
from tests.servers import ScriptedServer, static
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from tests.test_browser_desk import OPERATOR, _accounts, _docs, _sign_in
from tests.test_linked_scenario import R2011, R2012, profile, report_2012
from watcher.demo.site import SiteServer

pytestmark = pytest.mark.browser


@pytest.fixture
def service(
    site: SiteServer, scripted: ScriptedServer, mail_server: MailServer, tmp_path: Path
) -> Iterator[Running]:
    scripted.routes["/profiles/vn.html"] = static(profile([R2011]))
    scripted.routes[R2011[0]] = static(pdfs.report(), "application/pdf")
    data = service_data(site, mail_server, tmp_path)
    page = {
        "id": "vn-profile",
        "url": scripted.url("/profiles/vn.html"),
        "select": "#content",
        "documents": True,
    }
    data["countries"] = [{"code": "VN", "name": "Vietnam", "sources": [page]}]
    data["subscribers"] = [{"email": "reader@example.org", "countries": ["VN"]}]
    config = write_config(tmp_path, data)
    asyncio.run(_accounts(config))
    running = start(config)
    yield running
    running.kill()


async def test_a_new_linked_report_on_the_change_page_and_the_desk(
    browser: Browser, service: Running, scripted: ScriptedServer
) -> None:
    service.wait_for(
        lambda: (
            {s["id"]: s["status"] for s in service.api("/sources")}.get("vn-profile") == "ok"
            and len(service.api("/sources")) == 2
            and all(s["status"] == "ok" for s in service.api("/sources"))
        ),
        timeout=30,
        what="the profile and the report it links to, checked",
    )
    scripted.routes[R2012[0]] = static(report_2012(48), "application/pdf")
    scripted.routes["/profiles/vn.html"] = static(profile([R2012, R2011]))
    [change] = service.wait_for(
        lambda: service.api("/changes?source=vn-profile"), timeout=30, what="the change"
    )
    assert change["summary"] == "New document: Country report 2012 (PDF)"
    full = service.api(f"/changes/{change['id']}")
    [document] = full["change"]["documents"]
    assert document["status"] == "new"
    assert document["excerpt"][0] == "Viet Nam: Country Profile"

    page = await browser.new_page(viewport={"width": 1100, "height": 800})
    await page.goto(f"{service.base}/changes/{change['id']}")
    named = page.locator(".document.new")
    await expect(named).to_contain_text("New document")
    await expect(named.locator("a")).to_have_text("Country report 2012 (PDF)")
    assert await named.locator("a").get_attribute("href") == scripted.url(R2012[0])
    await expect(named.locator("blockquote.excerpt")).to_contain_text("Viet Nam: Country Profile")
    await shot(page, "linked-1-change")
    await _docs(page, "linked-change")

    await _sign_in(page, service, OPERATOR)
    service.wait_for(
        lambda: len(service.api("/sources")) == 3, timeout=20, what="the 2012 report followed"
    )
    await page.goto(service.base + "/desk/sources")
    followed = [s for s in service.api("/sources") if s["linked_from"] == "vn-profile"]
    assert sorted(s["name"] for s in followed) == [
        "Country report 2011 (PDF)",
        "Country report 2012 (PDF)",
    ]
    row = page.locator(f"#source-{followed[-1]['id']}")
    await expect(row).to_contain_text("linked from vn-profile")
    await shot(page, "linked-2-desk")
    await _docs(page, "desk-linked")
    await page.close()
