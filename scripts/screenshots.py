"""Render what subscribers and editors see, with headless Chromium.

Runs the example site r1 -> r2 through watcher (maildir transport), then photographs the
Vietnam email at 600 px and 375 px wide, light and dark, and the change in the web change
log. The README's images go to docs/screenshots/; `--full DIR` also writes whole-page
renderings there for review. Look at them after any change to the templates.

    .venv/bin/python scripts/screenshots.py [--full /tmp/shots]
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import mailbox
import socket
import tempfile
import tomllib
from datetime import timedelta
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, async_playwright

from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.notify.delivery import deliver
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.changes import list_changes
from watcher.web.app import create_web

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "src" / "watcher" / "demo" / "demo.toml"
README_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# name -> (width, height of the README crop, colour scheme)
EMAIL_VIEWS = {
    "email-600": (600, 1400, "light"),
    "email-375": (375, 1300, "light"),
    "email-600-dark": (600, 1000, "dark"),
}


def vietnam_email(folder: Path) -> str:
    for raw in mailbox.Maildir(folder / "mail", create=False):
        message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
        if str(message["Subject"]).startswith("Vietnam"):
            html = message.get_body(("html",))
            assert html is not None
            return str(html.get_content())
    raise LookupError("no Vietnam email was written")


async def example(app: App, site: SiteServer) -> None:
    for revision in ("r1", "r2"):
        site.revision = revision
        await run_pass(app, every=True)
        await compose_pending(app, settle=timedelta(0))
        await deliver(app)


async def photograph(
    browser: Browser,
    target: str,
    path: Path,
    width: int,
    height: int,
    scheme: str = "light",
    *,
    html: bool,
    full: bool,
) -> None:
    page = await browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
    if html:
        await page.set_content(target)
    else:
        await page.goto(target)
    await page.screenshot(path=str(path), full_page=full)
    await page.close()
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


async def main(full: Path | None) -> None:
    with SiteServer() as site, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = tomllib.loads(DEMO.read_text().replace("http://127.0.0.1:8931", site.base_url))
        data["service"]["database"] = f"sqlite:///{folder / 'watcher.db'}"
        data["mail"]["maildir"] = str(folder / "mail")
        async with open_app(build_config(data, {}, None)) as app:
            await example(app, site)
            html = vietnam_email(folder)
            async with read_transaction(app.engine) as connection:
                [change] = await list_changes(connection, source_id="vn-profile")
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            server = uvicorn.Server(uvicorn.Config(create_web(app), log_level="warning"))
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            for _ in range(200):  # uvicorn starts in well under a second
                if server.started:
                    break
                await asyncio.sleep(0.05)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                shots = [(name, html, True, size) for name, size in EMAIL_VIEWS.items()]
                shots.append(
                    ("change-log", f"{base}/changes/{change.id}", False, (1000, 1300, "light"))
                )
                for name, target, is_html, (width, height, scheme) in shots:
                    await photograph(
                        browser,
                        target,
                        README_SHOTS / f"{name}.png",
                        width,
                        height,
                        scheme,
                        html=is_html,
                        full=False,
                    )
                    if full:
                        await photograph(
                            browser,
                            target,
                            full / f"{name}.png",
                            width,
                            height,
                            scheme,
                            html=is_html,
                            full=True,
                        )
                await browser.close()
            server.should_exit = True
            await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, metavar="DIR", help="also write whole pages here")
    folder = parser.parse_args().full
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(folder))
