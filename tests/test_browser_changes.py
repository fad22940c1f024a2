"""Issue 28 in headless Chromium against `watcher run`: the change log says how much each
change matters and keeps only the notable ones on request; a change shows moved text once,
as moved, and a split paragraph with its parts, inline and side by side; a reader chooses
only the notable changes on the manage page.

Vietnam's profile is the corpus case page-moves (tests/corpus/): r2 moves a paragraph
within its section, moves another to another section with an edit, and splits one. The
screenshots are kept in docs/screenshots/ (`WATCHER_SCREENSHOTS=docs` to refresh them);
every step's in tests/artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browsing import shot
from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer, site_root
from watcher.notify.links import make_token

CORPUS = Path(__file__).parent / "corpus" / "page-moves"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"
READER = "editor@monitor.example"

pytestmark = pytest.mark.browser


@pytest.fixture
def moving_site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "site"
    shutil.copytree(site_root(), root)
    for revision, page in (("r1", "r1.html"), ("r2", "r2.html"), ("r3", "r2.html")):
        shutil.copy(CORPUS / page, root / revision / "cp" / "vietnam.html")
    with SiteServer(root) as server:
        yield server


@pytest.fixture
def service(moving_site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    data = service_data(moving_site, mail_server, tmp_path)
    data["subscribers"] = [{"email": READER, "countries": ["*"]}]
    data["significance"] = {"key_terms": ["ratified", "retains"], "notable": 0.3}
    running = start(write_config(tmp_path, data))
    yield running
    running.kill()


async def keep(page: Page, name: str, docs: str) -> None:
    await shot(page, name)
    if os.environ.get("WATCHER_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / docs), full_page=True)


async def test_the_desk_reads_moves_and_how_much_each_change_matters(
    browser: Browser, service: Running, moving_site: SiteServer, tmp_path: Path
) -> None:
    service.wait_for(
        lambda: all(s["status"] == "ok" for s in service.api("/sources")),
        timeout=20,
        what="baselines",
    )
    moving_site.revision = "r2"
    [change] = service.wait_for(
        lambda: service.api("/changes?source=vn-profile"), timeout=40, what="the profile's change"
    )
    assert change["summary"] == (
        "Mine Ban Policy: 1 paragraph moved · Stockpile Destruction: 1 paragraph moved"
        " · Casualties: 1 paragraph split into 2"
    )
    # The paragraph edited on its way names a key term; the one that only moved does not.
    assert "key terms: retains" in change["reasons"]
    assert change["significance"] >= 0.3

    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    await page.goto(service.base + "/changes")
    row = page.locator("tr", has=page.locator(f"a[href='/changes/{change['id']}']"))
    await expect(row.locator(".significance")).to_contain_text(
        f"Significance {change['significance']:.2f}"
    )
    await expect(row.locator(".significance")).to_contain_text("key terms: retains")
    await page.click("a:has-text('Notable only')")
    await expect(page.locator("a.current", has_text="Notable only")).to_be_visible()
    assert "min_significance=0.3" in page.url
    await expect(page.locator(f"a[href='/changes/{change['id']}']")).to_be_visible()
    await keep(page, "changes-1-log", "change-log-notable.png")

    await page.click(f"a[href='/changes/{change['id']}']")
    moved = page.locator("p.line.moved")
    await expect(moved).to_have_count(2)
    await expect(moved.nth(0)).to_contain_text("(moved within this section)")
    await expect(moved.nth(1)).to_contain_text("(moved from Mine Ban Policy)")
    await expect(moved.nth(1).locator("ins")).to_have_text(" a small number of")
    await expect(page.locator("p.line.changed").last).to_contain_text("(split from the line above)")
    await expect(page.locator("p.line.removed")).to_have_count(0)  # nothing reads as gone
    await expect(page.locator("p.line.added")).to_have_count(0)
    await keep(page, "changes-2-moved", "change-moved.png")
    await page.click("a:has-text('Side by side')")
    side = page.locator("table.side tr.moved")
    await expect(side).to_have_count(2)
    await expect(side.nth(1)).to_contain_text("moved from Mine Ban Policy")
    await shot(page, "changes-3-side")

    # The reader's manage page: only the notable changes.
    with sqlite3.connect(tmp_path / "w.db") as db:
        reader_id, secret = db.execute(
            "SELECT id, token FROM subscribers WHERE email = ?", (READER,)
        ).fetchone()
    await page.goto(f"{service.base}/manage/{make_token(reader_id, secret)}")
    await expect(page.locator("input[name=notable][value=no]")).to_be_checked()
    await expect(page.locator("form.subscribe")).to_contain_text(
        "Notable: a significance of 0.30 or more"
    )
    await page.check("input[name=notable][value=yes]")
    await page.click("form.subscribe button[type=submit]")
    await expect(page.locator("p.summary").first).to_have_text("Saved.")
    await expect(page.locator("p.summary").nth(1)).to_contain_text(
        "You follow every country: only notable changes."
    )
    await expect(page.locator("input[name=notable][value=yes]")).to_be_checked()
    await keep(page, "changes-4-manage", "manage-notable.png")
    assert service.api("/subscribers")[0]["notable"] is True
    await page.close()
