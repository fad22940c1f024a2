"""An editor in headless Chromium against `watcher run` with Vietnam under review: invited by
`watcher editors add`, sets a password from the email, signs in, approves the profile's
change with a note and discards the news item. The readers get one email, the note atop
it; nobody hears of the discarded item. The queue's screenshot is kept in docs/screenshots/
(`WATCHER_SCREENSHOTS=docs` to refresh it)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browsing import link_in, shot
from tests.conftest import write_config
from tests.service import API_TOKEN, Running, service_data, start
from tests.smtp import PASSWORD as SMTP_PASSWORD
from tests.smtp import MailServer
from watcher.demo.site import SiteServer

EDITOR = "desk@monitor.example"
READER = "reader@readers.example"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"

pytestmark = pytest.mark.browser


def checked_now(service: Running, source_id: str) -> bool:
    answer = httpx.post(
        f"{service.base}/api/v1/sources/{source_id}/check",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=30,
    )
    if answer.status_code == 409:
        return False
    answer.raise_for_status()
    return True


@pytest.fixture
def service(site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    data = service_data(site, mail_server, tmp_path)
    data["countries"][0]["review"] = True
    data["subscribers"] = [{"email": READER, "countries": ["VN"]}]
    data["mail"]["settle"] = "1s"
    running = start(write_config(tmp_path, data))
    yield running
    running.kill()


async def test_an_editor_approves_with_a_note_and_discards(
    browser: Browser,
    service: Running,
    site: SiteServer,
    mail_server: MailServer,
) -> None:
    service.wait_for(
        lambda: all(s["status"] == "ok" for s in service.api("/sources")),
        timeout=20,
        what="baselines",
    )
    site.revision = "r2"
    service.wait_for(
        lambda: [c for c in service.api("/changes") if c["review"]],
        timeout=30,
        what="changes waiting for review",
    )
    added = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "watcher",
            "--config",
            str(service.config),
            "editors",
            "add",
            EDITOR,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WATCHER_MAIL__PASSWORD": SMTP_PASSWORD},
    )
    assert added.returncode == 0, added.stderr
    # A check on demand wakes the drain: mail goes out. The scheduler checks every 2 s, so
    # the source may be under way right now (409): asked again a moment later.
    service.wait_for(lambda: checked_now(service, "la-profile"), timeout=10, what="a check")
    invitation = service.wait_for(
        lambda: mail_server.to(EDITOR), timeout=30, what="the invitation"
    )[0]
    page = await browser.new_page(viewport={"width": 1000, "height": 800})
    await page.goto(link_in(invitation, r"http://\S+/editor/password/\S+"))
    await page.fill("#password", "correct horse battery staple")
    await page.fill("#again", "correct horse battery staple")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Your password is set")

    await page.goto(service.base + "/editor/sign-in")
    await page.fill("#email", EDITOR)
    await page.fill("#password", "correct horse battery staple")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Review queue")
    await expect(page.locator(".review-item")).to_have_count(2)
    await shot(page, "review-1-queue")
    if os.environ.get("WATCHER_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / "review-queue.png"), full_page=True)

    await page.click(".review-item a:has-text('Vietnam country profile')")
    await expect(page.locator(".review-panel")).to_be_visible()
    await page.fill("#note", "Vietnam voted for the resolution for the first time.")
    await shot(page, "review-2-change")
    await page.click("button[value=approve]")
    await expect(page.locator(".review-item")).to_have_count(1)
    await expect(page.locator(".decision")).to_contain_text("approved: 1 reader will be told")
    item = page.locator(".review-item")
    await item.locator("button[value=discard]").click()  # no reason yet: said in place
    await expect(item.locator(".problem")).to_contain_text("Say why the change is discarded")
    await expect(page.locator(".review-item")).to_have_count(1)
    await shot(page, "review-3-reason-missing")
    await item.locator("input[name=note]").fill("The profile update says it all.")
    await item.locator("button[value=discard]").click()
    await expect(page.locator(".review-item")).to_have_count(0)
    await expect(page.locator(".decision")).to_contain_text("discarded: 1 reader will not be told")
    await shot(page, "review-4-empty")

    told = service.wait_for(
        lambda: [m for m in mail_server.to(READER) if "Vietnam" in str(m["Subject"])],
        timeout=30,
        what="the reader's email",
    )
    assert len(told) == 1
    part = told[0].get_body(("plain",))
    assert part is not None
    text = str(part.get_content())
    assert "From the editors: Vietnam voted for the resolution for the first time." in text
    assert "Country profile updated: Vietnam" not in text  # the discarded news item
    await page.close()
