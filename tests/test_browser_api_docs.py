"""`/api/docs` in headless Chromium against `watcher run`, with no network beyond watcher:
Swagger UI's files come from watcher itself (the swagger-ui-bundle package), it starts under
the page's Content-Security-Policy with nothing refused, lists every operation, and a
request tried from it with the token answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browsing import shot
from tests.conftest import write_config
from tests.service import API_TOKEN, Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer

pytestmark = pytest.mark.browser


@pytest.fixture
def service(site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    running = start(write_config(tmp_path, service_data(site, mail_server, tmp_path)))
    yield running
    running.kill()


async def test_the_api_reference_works_offline_under_the_policy(
    browser: Browser, service: Running
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    ours = urlsplit(service.base).netloc
    elsewhere: list[str] = []
    refused: list[str] = []

    async def offline(route: Route) -> None:  # the network ends at watcher
        if urlsplit(route.request.url).netloc == ours:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", offline)
    page.on("pageerror", lambda error: refused.append(str(error)))
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Refused" in message.text or "Content Security Policy" in message.text
            else None
        ),
    )
    answer = await page.goto(service.base + "/api/docs")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy

    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("watcher")
    review = page.locator(".opblock-summary-path", has_text="/api/v1/changes/{change_id}/review")
    await expect(review).to_have_count(1)
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/sources")
    ).not_to_have_count(0)

    await page.click("button.authorize")
    await page.fill(".auth-container input[type=text], .auth-container input", API_TOKEN)
    await page.click(".auth-btn-wrapper button.authorize")
    await page.click("button.btn-done")
    sources = page.locator(
        ".opblock-get", has=page.locator('.opblock-summary-path[data-path="/api/v1/sources"]')
    )
    await sources.locator(".opblock-summary").click()
    await sources.locator("button.try-out__btn").click()
    await sources.locator("button.execute").click()
    await expect(
        sources.locator(".live-responses-table tr.response .response-col_status")
    ).to_contain_text("200")
    await expect(sources.locator(".live-responses-table")).to_contain_text("vn-profile")
    await shot(page, "api-docs")
    assert elsewhere == [], elsewhere
    assert refused == [], refused
