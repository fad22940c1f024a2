"""Headless Chromium for the browser tests: Debian's, never a downloaded one; the emails'
links to follow; screenshots saved under tests/artifacts/screenshots/ to look at."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

from playwright.async_api import Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parent / "artifacts" / "screenshots"


def link_in(message: EmailMessage, pattern: str) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    found = re.search(pattern, str(part.get_content()))
    assert found is not None, part.get_content()
    return found.group(0)


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
