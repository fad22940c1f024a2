"""A reader who follows two sections of Vietnam and a keyword, in headless Chromium against
`watcher run`: subscribe, confirm, choose on the manage page, then receive exactly the email
those choices imply as the site changes; unsubscribe.

The example site's Vietnam profile is rewritten here with four sections. r2 changes only
Casualties (not chosen: no email); r3 changes Mine Ban Policy (chosen), Casualties again,
and a line of Support for Mine Action that names the Ottawa Convention (the keyword). The
manage page's screenshot is kept in docs/screenshots/ (`WATCHER_SCREENSHOTS=docs` to
refresh it); every step's in tests/artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browsing import link_in, shot
from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer, site_root

READER = "sections@readers.example"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"
SECTIONS = {
    "r1": {
        "Mine Ban Policy": "Vietnam has not acceded to the Mine Ban Treaty.",
        "Cluster Munition Ban Policy": "Vietnam has not joined the Convention.",
        "Casualties": "In 2024, 10 casualties were recorded.",
        "Support for Mine Action": "Vietnam received US$5 million in 2024.",
    },
}
SECTIONS["r2"] = {**SECTIONS["r1"], "Casualties": "In 2024, 12 casualties were recorded."}
SECTIONS["r3"] = {
    **SECTIONS["r2"],
    "Mine Ban Policy": "Vietnam has not acceded to the Mine Ban Treaty; it voted for it in 2025.",
    "Casualties": "In 2024, 13 casualties were recorded.",
    "Support for Mine Action": "It received US$5 million, as the Ottawa Convention asks.",
}
UPDATED = {"r1": "1 May 2026", "r2": "2 May 2026", "r3": "3 May 2026"}

pytestmark = pytest.mark.browser


def profile(revision: str) -> str:
    body = "".join(f"<h2>{name}</h2>\n<p>{text}</p>\n" for name, text in SECTIONS[revision].items())
    return (
        '<html><head><meta charset="utf-8"><title>Vietnam</title></head><body>'
        '<div id="nav">Home</div><div id="content"><h1>Vietnam</h1>'
        f'<p class="updated">Last Updated: {UPDATED[revision]}</p>\n{body}</div></body></html>'
    )


@pytest.fixture
def sectioned_site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "site"
    shutil.copytree(site_root(), root)
    for revision in SECTIONS:
        (root / revision / "cp" / "vietnam.html").write_text(profile(revision))
    with SiteServer(root) as server:
        yield server


@pytest.fixture
def service(
    sectioned_site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> Iterator[Running]:
    data = service_data(sectioned_site, mail_server, tmp_path)
    data["subscribers"] = [{"email": "editor@monitor.example", "countries": ["*"]}]
    data["mail"]["settle"] = "2s"
    running = start(write_config(tmp_path, data))
    yield running
    running.kill()


def text_of(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


async def test_a_reader_follows_two_sections_and_a_keyword(
    browser: Browser,
    service: Running,
    sectioned_site: SiteServer,
    mail_server: MailServer,
) -> None:
    service.wait_for(
        lambda: all(s["status"] == "ok" for s in service.api("/sources")),
        timeout=20,
        what="baselines",
    )
    page = await browser.new_page(viewport={"width": 1000, "height": 900})
    await page.goto(service.base + "/")
    await page.fill("#email", READER)
    await page.check("input[name=countries][value=VN]")
    await page.click("form.subscribe button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Check your inbox")
    confirmation = service.wait_for(
        lambda: mail_server.to(READER), timeout=20, what="the confirmation email"
    )[0]
    await page.goto(link_in(confirmation, r"http://\S+/confirm/\S+"))
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("You are subscribed")

    await page.click("a:has-text('Change countries or frequency')")
    await expect(page.locator("h1")).to_have_text("Your subscription")
    await page.check("input[name=sections][value='VN:Mine Ban Policy']")
    await page.check("input[name=sections][value='VN:Cluster Munition Ban Policy']")
    await page.fill("#keywords", "Ottawa Convention")
    # With sections chosen, Vietnam's news still comes unless unticked: the page says so.
    box = page.locator("input[name=news][value=VN]")
    await expect(box).to_be_checked()
    await expect(page.locator(".country-choice").first).to_contain_text(
        "Vietnam's news (its feeds' items) still comes, unless you untick it"
    )
    await box.uncheck()
    await page.click("form.subscribe button[type=submit]")
    await expect(page.locator("p.summary").first).to_have_text("Saved.")
    await expect(page.locator("p.summary").nth(1)).to_contain_text(
        "Vietnam (Cluster Munition Ban Policy, Mine Ban Policy; not its news), the keyword"
        ' "Ottawa Convention"'
    )
    await expect(page.locator("input[name=news][value=VN]")).not_to_be_checked()
    await shot(page, "sections-1-manage")
    if os.environ.get("WATCHER_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / "manage-page.png"), full_page=True)

    # r2: only Casualties changes. The editor hears of it; the reader does not.
    sectioned_site.revision = "r2"
    service.wait_for(
        lambda: [m for m in mail_server.to("editor@monitor.example") if "Vietnam" in m["Subject"]],
        timeout=40,
        what="the editor's Vietnam email",
    )
    # Who hears of a change is decided as it is recorded: the editor's email went out, so
    # the reader's would have too.
    subjects = [str(m["Subject"]) for m in mail_server.to(READER)]
    news = [subject for subject in subjects if not subject.startswith("Welcome to")]
    assert news == [str(confirmation["Subject"])], (  # and the welcome, with its manage link
        "a section not chosen changed, and the news turned off: no email"
    )

    # r3: a chosen section, a keyword in another, and Casualties again.
    sectioned_site.revision = "r3"
    email = service.wait_for(
        lambda: [m for m in mail_server.to(READER) if "Vietnam" in m["Subject"]],
        timeout=40,
        what="the reader's Vietnam email",
    )[0]
    subject = "Vietnam: country profile updated (Mine Ban Policy, Support for Mine Action)"
    assert str(email["Subject"]) == subject  # a chosen section, and the keyword's line
    text = text_of(email)
    assert "voted for it in 2025" in text
    assert "**Ottawa Convention**" in text
    assert "casualties" not in text.lower()
    assert "2 May 2026" in text  # the Last Updated date, old and new
    assert "3 May 2026" in text
    assert "<mark>Ottawa Convention</mark>" in text_of(email, "html")

    await page.goto(link_in(email, r"http://\S+/unsubscribe/\S+"))
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("You are unsubscribed")
    await page.close()
