"""A reader's whole journey in headless Chromium against `watcher run`: subscribe, confirm
from the email, read a change in the change log, unsubscribe from a notification.

Screenshots of each step are saved to tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browsing import link_in, shot
from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer

READER = "browser@readers.example"

pytestmark = pytest.mark.browser


@pytest.fixture
def service(site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    data = service_data(site, mail_server, tmp_path)
    data["subscribers"] = []
    data["mail"]["settle"] = "2s"
    running = start(write_config(tmp_path, data))
    yield running
    running.kill()


async def test_a_reader_subscribes_reads_a_change_and_unsubscribes(
    browser: Browser, service: Running, site: SiteServer, mail_server: MailServer
) -> None:
    service.wait_for(
        lambda: all(s["status"] == "ok" for s in service.api("/sources")),
        timeout=20,
        what="baselines",
    )
    page = await browser.new_page(viewport={"width": 1000, "height": 800})

    await page.goto(service.base + "/")
    await page.fill("#email", READER)
    await page.check("input[name=countries][value=VN]")
    await shot(page, "1-subscribe-form")
    await page.click("form.subscribe button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Check your inbox")
    await shot(page, "2-check-your-inbox")

    confirmation = service.wait_for(
        lambda: mail_server.to(READER),
        timeout=20,
        what="the confirmation email",
    )[0]
    assert str(confirmation["Subject"]).startswith("Confirm your subscription")
    confirm_url = link_in(confirmation, r"http://\S+/confirm/\S+")
    await page.goto(confirm_url)
    await expect(page.locator("h1")).to_have_text("Confirm your subscription")
    await shot(page, "3-confirm")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("You are subscribed")
    await shot(page, "4-subscribed")

    site.revision = "r2"
    notification = service.wait_for(
        lambda: [
            item.message
            for item in mail_server.received
            if READER in item.recipients and "Vietnam" in str(item.message["Subject"])
        ],
        timeout=40,
        what="the Vietnam notification",
    )[0]

    await page.goto(service.base + "/changes?source=vn-profile")
    await page.click("table.list td a >> nth=0")
    await expect(page.locator("h1")).to_contain_text("Vietnam country profile")
    removed = page.locator("p.line.changed del", has_text="65/48").first
    added = page.locator("p.line.changed ins", has_text="66/29").first
    await expect(removed).to_be_visible()
    await expect(added).to_be_visible()
    assert "line-through" in await removed.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "underline" in await added.evaluate("e => getComputedStyle(e).textDecorationLine")
    await shot(page, "5-change-inline")
    await page.click("a:has-text('Side by side')")
    await expect(page.locator("table.side")).to_be_visible()
    await shot(page, "6-change-side-by-side")

    unsubscribe_url = link_in(notification, r"http://\S+/unsubscribe/\S+")
    await page.goto(unsubscribe_url)
    await expect(page.locator("h1")).to_have_text("Unsubscribe")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("You are unsubscribed")
    await shot(page, "7-unsubscribed")
    [reader] = [s for s in service.api("/subscribers?inactive=true") if s["email"] == READER]
    assert reader["status"] == "unsubscribed"
    await page.close()
