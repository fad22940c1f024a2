"""`watcher demo`: the whole loop on the bundled example site, offline, in a minute.

It serves the example site on 127.0.0.1, writes a demo configuration into a data folder
(SQLite there, emails as .eml files in its maildir), runs the real service on it, and moves
the site from r1 to r2 to r3, telling the user what happens and where to look.
`--once` runs the three revisions as three passes, without the web server, and exits.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import re
import shutil
import socket
import sys
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TextIO

from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.config import Config
from watcher.demo import receiver
from watcher.demo.site import SiteServer
from watcher.loading import load_config
from watcher.notify.delivery import deliver
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.changes import list_changes
from watcher.store.sources import load_states

SITE_PORT, WEB_PORT = 8931, 8080
STORY = {
    "r1": "The example site is at revision r1. The first check of each source records its "
    "baseline; nobody is told.",
    "r2": "The site moves to r2: the Vietnam profile is updated, a news item appears, and a "
    "Lao PDR Atom entry is corrected. Each change is recorded and emailed: the editor, who "
    "follows every country, hears of all of it; a reader who follows one section in every "
    "country and a keyword hears only of those.",
    "r3": "The site moves to r3: only noise outside the watched part changes (navigation, "
    "footer). Nothing is recorded and nobody is told.",
}


def free_port(preferred: int) -> int:
    """`preferred` if nobody listens there, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def write_demo_config(
    folder: Path, site_url: str, listen: str, *, live: bool, secrets: dict[str, str] | None = None
) -> Path:
    """The bundled demo configuration, pointed at this site, folder and address; with
    `secrets`, a secrets file beside it (mode 600) that the configuration names."""
    text = (resources.files("watcher.demo") / "demo.toml").read_text()
    text = text.replace("http://127.0.0.1:8931", site_url)
    values = {
        "database": f"sqlite:///{folder / 'watcher.db'}",
        "maildir": str(folder / "mail"),
        "listen": listen,
        "public_url": f"http://{listen}",
    }
    if live:  # quick enough to watch: checks every few seconds, mail soon after
        values["interval"] = "5s"
        text = text.replace("[mail]\n", '[mail]\nsettle = "2s"\n')
        text = text.replace("[checks]\n", '[checks]\njitter = "0s"\n')
    for key, value in values.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {json.dumps(value)}", text, count=1)
    folder.mkdir(parents=True, exist_ok=True)
    if secrets:  # a channel beside email: a webhook into the demo's receiver
        file = folder / "secrets.env"
        file.touch(mode=0o600)
        file.chmod(0o600)
        file.write_text("".join(f"{name}={value}\n" for name, value in secrets.items()))
        text = text.replace("[service]\n", '[service]\nsecrets = "secrets.env"\n', 1)
        text += f'\n[[subscribers]]\nchannel = "{receiver.NAME}"\ncountries = ["VN"]\n'
    path = folder / "watcher.toml"
    path.write_text(text)
    return path


class Narrator:
    """Tells what the service did, as it does it."""

    def __init__(
        self, app: App, folder: Path, out: TextIO, hooks: receiver.WebhookReceiver
    ) -> None:
        self.app, self.folder, self.out, self.hooks = app, folder, out, hooks
        self.seen_change = 0
        self.seen_mail: set[str] = set()
        self.seen_hooks = 0

    def say(self, text: str) -> None:
        stamp = self.app.clock().astimezone().strftime("%H:%M:%S")
        self.out.write(f"[{stamp}] {text}\n")
        self.out.flush()

    async def news(self) -> int:
        """Report changes and emails that appeared since last time; return how many."""
        async with read_transaction(self.app.engine) as connection:
            changes = await list_changes(connection, limit=100)
        fresh = sorted((c for c in changes if c.id > self.seen_change), key=lambda c: c.id)
        for change in fresh:
            self.say(
                f"change #{change.id} ({change.country}, {change.source_id}): {change.summary}"
            )
            self.seen_change = change.id
        emails = self.emails()
        for name, subject, to in emails:
            if name not in self.seen_mail:
                self.seen_mail.add(name)
                self.say(f'email to {to}: "{subject}"')
        hooks = self.hooks.lines[self.seen_hooks :]
        for line in hooks:
            _, event, _, rest = line.split(" ", 3)
            self.say(f"webhook {receiver.NAME} received a signed {event}: {rest.split(';')[0]}")
        self.seen_hooks += len(hooks)
        return len(fresh) + len(emails) + len(hooks)

    def emails(self) -> list[tuple[str, str, str]]:
        folder = self.folder / "mail"
        if not (folder / "new").exists():
            return []
        box = mailbox.Maildir(folder, create=False)
        return [(key, str(message["Subject"]), str(message["To"])) for key, message in box.items()]

    async def baselines_done(self) -> bool:
        async with read_transaction(self.app.engine) as connection:
            states = await load_states(connection)
        return bool(states) and all(state.status != "new" for state in states)


def watcher_command() -> str:
    """`watcher` as this shell can run it: bare when it is on the PATH (an activated venv,
    a pip install), else the script beside this Python (`.venv/bin/watcher` from a clone)."""
    beside = Path(sys.executable).parent / "watcher"
    found = shutil.which("watcher")
    if found and Path(found).resolve() == beside.resolve():
        return "watcher"
    if not beside.exists():
        return f"{sys.executable} -m watcher"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def intro(out: TextIO, site: SiteServer, folder: Path, config: Path, web: str | None) -> None:
    lines = [
        "watcher demo: the whole loop on a small example site, offline.",
        f"  example site      {site.url('/cp/vietnam.html')}",
        f"  data folder       {folder}",
        f"  emails arrive in  {folder / 'mail' / 'new'}",
        f"  webhook log       {folder / 'webhook.log'} (a channel beside email)",
        f"  change log        {watcher_command()} --config {config} log",
    ]
    if web:
        lines.insert(2, f"  web change log    {web}/changes")
    out.write("\n".join(lines) + "\n\n")


async def demo_once(folder: Path, out: TextIO = sys.stdout) -> int:
    """r1, r2, r3 as three passes (as `watcher check` runs them); no web server."""
    hooks = receiver.WebhookReceiver(folder / "webhook.log")
    with SiteServer(port=free_port(SITE_PORT)) as site, hooks:
        path = write_demo_config(
            folder, site.base_url, "127.0.0.1:8080", live=False, secrets=hooks.environ()
        )
        intro(out, site, folder, path, None)
        async with open_app(load_config(path, environ={})) as app:
            narrator = Narrator(app, folder, out, hooks)
            for revision in ("r1", "r2", "r3"):
                site.revision = revision
                narrator.say(STORY[revision])
                result = await run_pass(app, every=True)
                counts = result.counts
                narrator.say(
                    f"checked {len(result.outcomes)} sources: {counts['baseline']} baselines, "
                    f"{counts['changed']} changed, {counts['unchanged']} unchanged, "
                    f"{counts['failed']} failed"
                )
                await compose_pending(app, settle=timedelta(0))
                await deliver(app)
                await narrator.news()
            narrator.say(
                f"done: {narrator.seen_change} changes recorded, "
                f"{len(narrator.seen_mail)} emails written to {folder / 'mail' / 'new'}, "
                f"{narrator.seen_hooks} webhook delivered"
            )
    return 0


async def demo_live(
    folder: Path, *, step: float = 20.0, port: int = WEB_PORT, out: TextIO = sys.stdout
) -> int:
    """The service on the example site, the site moving on its own; Ctrl-C stops it."""
    from watcher.service.runner import Service

    hooks = receiver.WebhookReceiver(folder / "webhook.log")
    with SiteServer(port=free_port(SITE_PORT)) as site, hooks:
        listen = f"127.0.0.1:{free_port(port)}"
        path = write_demo_config(folder, site.base_url, listen, live=True, secrets=hooks.environ())
        config: Config = load_config(path, environ={})
        intro(out, site, folder, path, f"http://{listen}")
        service = Service(config, path)
        running = asyncio.create_task(service.run())
        story = asyncio.create_task(
            _tell(config, site, folder, out, step, lambda: running.done(), hooks)
        )
        try:
            return await running
        finally:
            story.cancel()
            await asyncio.gather(story, return_exceptions=True)
            out.write(f"\nStopped. Everything stays in {folder}.\n")


async def _tell(
    config: Config,
    site: SiteServer,
    folder: Path,
    out: TextIO,
    step: float,
    stopped: Callable[[], bool],
    hooks: receiver.WebhookReceiver,
) -> None:
    await asyncio.sleep(0.5)
    async with open_app(config) as app:
        narrator = Narrator(app, folder, out, hooks)
        narrator.say(STORY["r1"])
        for _ in range(240):  # the first checks start within seconds
            if await narrator.baselines_done():
                narrator.say("every source has its baseline.")
                break
            await asyncio.sleep(0.5)
        for revision in ("r2", "r3"):
            await _watch(narrator, step)
            site.revision = revision
            narrator.say(STORY[revision])
        await _watch(narrator, step)
        narrator.say(
            f"the demo is done; the service keeps running for you to browse, at "
            f"{config.settings.service.public_url}. Ctrl-C stops it."
        )
        while not stopped():
            await asyncio.sleep(1)
            await narrator.news()


async def _watch(narrator: Narrator, seconds: float) -> None:
    for _ in range(int(seconds * 2)):
        await narrator.news()
        await asyncio.sleep(0.5)
