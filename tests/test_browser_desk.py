"""An operator in headless Chromium against `watcher run` (issue 27): signs in, finds the
sources with their state, adds one on the desk after a preview of what it keeps (a mistake
named beside its field first), sees it checked, rechecks it after the page changed, reads its
history and compares two versions side by side, pauses it; a source of the configuration
file shows read-only with the file's name. An editor without the operator's role is refused
the desk. The screenshots go to docs/screenshots/ with `WATCHER_SCREENSHOTS=docs`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browsing import shot
from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from watcher.app import open_app
from watcher.demo.site import SiteServer
from watcher.loading import load_config
from watcher.store import write_transaction
from watcher.store.editors import invite, set_password

OPERATOR = "operator@monitor.example"
EDITOR = "editor@monitor.example"
PASSWORD = "correct horse battery staple"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"

pytestmark = pytest.mark.browser


async def _accounts(config: Path) -> None:
    """An operator and an editor whose invitations are used (the invitation's own flow is
    tests/test_browser_review.py's)."""
    async with (
        open_app(load_config(config, environ={})) as app,
        write_transaction(app.engine) as connection,
    ):
        for email, role in ((OPERATOR, "operator"), (EDITOR, "editor")):
            editor, _ = await invite(connection, email, app.clock(), role=role)
            await set_password(connection, editor, PASSWORD, app.clock())


@pytest.fixture
def service(site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    data = service_data(site, mail_server, tmp_path, interval="1h")
    config = write_config(tmp_path, data)
    asyncio.run(_accounts(config))
    running = start(config)
    yield running
    running.kill()


async def _sign_in(page: Page, service: Running, email: str) -> None:
    await page.goto(service.base + "/editor/sign-in")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Review queue")


async def _docs(page: Page, name: str) -> None:
    if os.environ.get("WATCHER_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


async def test_an_operator_adds_previews_rechecks_and_compares_a_source(
    browser: Browser, service: Running, site: SiteServer
) -> None:
    service.wait_for(
        lambda: all(s["status"] == "ok" for s in service.api("/sources")),
        timeout=30,
        what="baselines",
    )
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    await _sign_in(page, service, OPERATOR)
    await page.click("header >> text=Sources")
    await expect(page.locator("h1")).to_have_text("Sources")
    await expect(page.locator("table.desk tr[id^=source-]")).to_have_count(5)
    await shot(page, "desk-1-sources")

    await page.click("text=Add a source")
    await page.fill("#f-url", site.url("/cp/vietnam.html"))
    await page.fill("#f-country", "KH")
    await page.fill("#f-select", "div[[")
    await page.click("button[value=preview]")
    await expect(page.locator("#p-select")).to_contain_text("select")  # beside its field
    await expect(page.locator("#f-select")).to_have_attribute("aria-invalid", "true")
    await page.fill("#f-select", "#content")
    await page.fill("#f-exclude", ".share")
    await page.fill("#f-country_name", "Cambodia")
    await page.fill("#f-name", "Cambodia profile (trial)")
    await page.click("button[value=preview]")
    preview = page.locator("#preview")
    await expect(preview).to_contain_text("Kind: page")
    await expect(preview).to_contain_text("Last Updated: 02 November 2011")
    await expect(preview.locator(".section").first).to_be_visible()
    await expect(page.locator("#f-select")).to_have_value("#content")  # the form kept
    await shot(page, "desk-2-preview")
    await _docs(page, "desk-add-preview")

    await page.click("button[value=save]")
    await expect(page.locator("h1")).to_have_text("Cambodia profile (trial)")
    await expect(page.locator(".decision")).to_contain_text("The source is added")
    source_id = page.url.split("/desk/sources/")[1].split("?")[0]
    service.wait_for(
        lambda: service.api(f"/sources/{source_id}")["status"] == "ok",
        timeout=30,
        what="the desk source's first check",
    )
    assert service.api(f"/sources/{source_id}")["origin"] == "desk"
    site.revision = "r2"
    await page.click("button[value=recheck]")
    await expect(page.locator(".decision")).to_contain_text("checked within a minute")
    service.wait_for(
        lambda: len(service.api(f"/sources/{source_id}/snapshots")) == 2,
        timeout=30,
        what="the recheck's new version",
    )
    await page.reload()
    await expect(page.locator("#history tr")).to_have_count(3)
    await shot(page, "desk-3-source")
    await _docs(page, "desk-source-history")

    await page.click("#history button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("→ version")
    await expect(page.locator(".summary")).to_contain_text(
        "Mine Ban Policy: 8 December 2010 → 2 December 2011"
    )
    await expect(page.locator("p.meta", has_text="Last Updated")).to_contain_text("29 October")
    await expect(page.locator(".line.changed").first).to_be_visible()
    await page.click("text=Side by side")
    await expect(page.locator("table.side")).to_be_visible()
    await shot(page, "desk-4-compare")
    await _docs(page, "desk-compare")

    await page.goto(f"{service.base}/desk/sources/{source_id}")
    await page.click("button[value=pause]")
    await expect(page.locator(".decision")).to_contain_text("Paused")
    assert service.api(f"/sources/{source_id}")["paused"] is True
    await page.goto(service.base + "/desk/sources")
    await expect(page.locator(f"#source-{source_id}")).to_contain_text("paused")
    await _docs(page, "desk-sources")

    await page.goto(service.base + "/desk/sources/vn-profile")
    await expect(page.locator("table.facts")).to_contain_text("set in")
    await expect(page.locator("table.facts")).to_contain_text("watcher.toml")
    await expect(page.locator("button[value=pause]")).to_have_count(0)
    await expect(page.locator("button[value=recheck]")).to_have_count(1)
    await shot(page, "desk-5-config-source")


async def test_an_editor_without_the_operators_role_is_refused_the_desk(
    browser: Browser, service: Running
) -> None:
    page = await browser.new_page()
    await _sign_in(page, service, EDITOR)
    answer = await page.goto(service.base + "/desk/sources")
    assert answer is not None
    assert answer.status == 403
    await expect(page.locator("body")).to_contain_text("Only an operator looks after sources")


async def test_an_operator_looks_after_subscribers(
    browser: Browser, service: Running, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    await _sign_in(page, service, OPERATOR)
    await page.click("header >> text=Subscribers")
    await expect(page.locator("h1")).to_have_text("Subscribers")
    csv_file = tmp_path / "readers.csv"
    csv_file.write_text(
        "email,countries,sections,keywords,frequency\n"
        "asked@readers.example,VN,,,daily\n"
        "agreed.too@readers.example,,VN: Mine Ban Policy,accede,\n"
        "wrong,VN,,,\n"
    )
    await page.set_input_files("#file", str(csv_file))
    await page.click("button:has-text('Import')")
    await expect(page.locator(".decision")).to_contain_text("2 asked to confirm by email")
    await expect(page.locator(".decision")).to_contain_text("line 4: 'wrong' is not an email")
    await expect(page.locator("#q")).to_be_visible()
    await page.fill("#q", "readers.example")
    await page.click("button:has-text('Search')")
    await expect(page.locator("table.desk tr[id^=reader-]")).to_have_count(2)
    await expect(page.locator("table.desk")).to_contain_text("waiting for confirmation")
    await expect(page.locator("table.desk")).to_contain_text("what they asked for, once confirmed")
    await shot(page, "desk-6-subscribers")
    await _docs(page, "desk-subscribers")

    await page.click("text=asked@readers.example")
    await expect(page.locator("h1")).to_have_text("asked@readers.example")
    await expect(page.locator("table.facts")).to_contain_text("Vietnam (daily), once they confirm")
    await expect(page.locator("table.list").last).to_contain_text("confirm")  # its mail
    await page.click("button[value=resend]")
    await expect(page.locator(".decision")).to_contain_text("less than ten minutes ago")
    await page.click("button[value=erase]")  # not ticked: asked first
    await expect(page.locator(".decision")).to_contain_text("Tick the box")
    await page.check("input[name=sure]")
    await page.click("button[value=erase]")
    await expect(page.locator(".decision")).to_contain_text("The reader is erased")
    await expect(page.locator("table.desk")).not_to_contain_text("asked@readers.example")
    await shot(page, "desk-7-erased")
    found = service.api("/subscribers?q=asked&inactive=true")
    assert found == []
