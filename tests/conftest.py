"""Shared test fixtures: the example site on a real port, scripted servers, configurations,
databases (SQLite files, and fresh PostgreSQL databases on the local server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import tomli_w

from tests.servers import ScriptedServer

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from tests.service import Running
from tests.smtp import MailServer
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.config import Config
from watcher.demo.site import SiteServer, site_root
from watcher.loading import build_config
from watcher.store import read_transaction
from watcher.store.messages import list_messages

DEMO_CONFIG = Path(__file__).parent.parent / "src" / "watcher" / "demo" / "demo.toml"
DEMO_BASE = "http://127.0.0.1:8931"
POSTGRES_URL = os.environ.get("WATCHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(autouse=True, scope="session")
def _config_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Big configurations written by tests cache their resolved sources in the session's
    temporary folder, never in the home folder (`config/cache.py`); watcher processes the
    tests start inherit it."""
    os.environ["WATCHER_CACHE_DIR"] = str(tmp_path_factory.mktemp("config-cache"))


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    """A real SMTP server that requires STARTTLS and AUTH."""
    server = MailServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def running() -> Iterator[list[Running]]:
    """`watcher run` processes a test started; any still alive at the end are killed."""
    started: list[Running] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def each_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


def demo_data(site: SiteServer | None, database: str) -> dict[str, Any]:
    """The demo configuration, pointed at `site` and at `database`."""
    text = DEMO_CONFIG.read_text()
    if site is not None:
        text = text.replace(DEMO_BASE, site.base_url)
    data = tomllib.loads(text)
    data["service"]["database"] = database
    return data


def make_config(data: dict[str, Any], tmp_path: Path) -> Config:
    data.setdefault("mail", {}).setdefault("maildir", str(tmp_path / "mail"))
    return build_config(data, {}, tmp_path / "watcher.toml")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture
def demo_config(site: SiteServer, tmp_path: Path, database: str) -> Config:
    return make_config(demo_data(site, database), tmp_path)


@pytest.fixture
async def demo_app(demo_config: Config) -> AsyncIterator[App]:
    async with open_app(demo_config) as app:
        yield app


def write_config(tmp_path: Path, data: dict[str, Any], name: str = "watcher.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(data))
    return path


# PostgreSQL: each test gets a database of its own, dropped afterwards.


def _postgres_reachable() -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(f"{POSTGRES_URL}/postgres", timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    reachable = _postgres_reachable()
    if not reachable and os.environ.get("WATCHER_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required (WATCHER_REQUIRE_POSTGRES) but {POSTGRES_URL} is down")
    return reachable


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    if not postgres_available:
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}")
    import asyncpg

    name = f"watcher_test_{secrets.token_hex(4)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES_URL}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture
def example_site_root() -> Path:
    return site_root()


class Clock:
    """A clock the test moves: `clock.advance(hours=1)`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


BASE = "http://127.0.0.1:8080"  # the demo configuration's public_url
TOKEN = "api-token-for-tests-0123456789"
SAME_SITE = {"Origin": BASE}  # a form posted from watcher's own pages


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def confirmation_link(app: App, address: str) -> str:
    async with read_transaction(app.engine) as connection:
        found = [m for m in await list_messages(connection) if m.recipient == address]
    assert found[0].kind == "confirm"
    body = found[0].body.decode().replace("=\r\n", "")
    link = re.search(r"http://127\.0\.0\.1:8080(/confirm/[^\s\"<=]+)", body)
    assert link is not None
    return link.group(1)


@pytest.fixture
def hostile_site(tmp_path: Path) -> Iterator[SiteServer]:
    """The example site, with a script tag written as text into the Vietnam profile's update."""
    root = tmp_path / "site"
    shutil.copytree(site_root(), root)
    note = '<h3>Policy</h3>\n  <p>Note: &lt;script&gt;alert("owned")&lt;/script&gt;</p>'
    for revision in ("r2", "r3"):
        page = root / revision / "cp" / "vietnam.html"
        page.write_text(page.read_text().replace("<h3>Policy</h3>", note, 1))
    with SiteServer(root) as server:
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (the browser tests fail without it under
    WATCHER_REQUIRE_BROWSER, and are skipped otherwise)."""
    from playwright.async_api import async_playwright

    from tests.browsing import ARGS, CHROMIUM

    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("WATCHER_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def served(site: SiteServer, tmp_path: Path) -> AsyncIterator[App]:
    """The example site checked at r1 and r2, mailing into a maildir of the test's (the
    demo's own `data/demo/mail` is relative to the working directory)."""
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"]["maildir"] = str(tmp_path / "mail")
    async with open_app(build_config(data, {}, tmp_path / "watcher.toml")) as app:
        await run_pass(app, every=True)
        site.revision = "r2"
        await run_pass(app, every=True)
        yield app


@contextlib.asynccontextmanager
async def web_client(app: App, client: str = "203.0.113.9") -> AsyncIterator[httpx.AsyncClient]:
    """The real web app of `app` (pages, forms, API with `TOKEN`), spoken to over HTTP as
    from `client`."""
    from watcher.web.app import create_web

    transport = httpx.ASGITransport(app=create_web(app, api_token=TOKEN), client=(client, 1234))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


@pytest.fixture
async def reader_client(served: App) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(served) as http:
        yield http
