"""`watcher run`: the scheduler, delivery and the web app in one process, until SIGTERM.

SIGTERM (or SIGINT) stops it cleanly: no new checks start, running ones finish or are
abandoned without a half-written state, a delivery in progress records what it sent, queued
mail stays queued, and the process exits with status 0. SIGHUP reloads the configuration:
new sources are checked, removed ones stopped (every worker hears of it); an invalid file is
reported and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from watcher.app import App, open_app, settle
from watcher.config import Config, ConfigError
from watcher.errors import WatcherError
from watcher.loading import load_config
from watcher.service.scheduler import Scheduler
from watcher.web.app import create_web

log = logging.getLogger("watcher.service")


class ServiceError(WatcherError):
    """The service cannot start (e.g. its address is taken); the message says why."""


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: the service owns SIGTERM, SIGINT and SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen_socket(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {listen}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class Service:
    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.stop_requested = asyncio.Event()
        self.reloads: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        sock = listen_socket(self.config.settings.service.listen)
        async with open_app(self.config, serving=True) as app:
            scheduler = Scheduler(app)
            web = create_web(
                app,
                api_token=os.environ.get("WATCHER_API_TOKEN") or None,
                kick=lambda: self._kick(scheduler),
                alive=lambda: scheduler.alive,
                wake=scheduler.wake,
            )
            server = _Server(
                uvicorn.Config(
                    web,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                    # Forwarded headers only from the configured proxies (none by default).
                    proxy_headers=bool(self.config.settings.service.trusted_proxies),
                    forwarded_allow_ips=self.config.settings.service.trusted_proxies,
                    server_header=False,
                    timeout_graceful_shutdown=3,
                )
            )
            self._install_signals(app, scheduler)
            await scheduler.start()
            serving = asyncio.create_task(server.serve(sockets=[sock]), name="watcher-web")
            log.info(
                "watcher is running on http://%s (%d sources)",
                self.config.settings.service.listen,
                len(app.config.sources),
            )
            stopped = asyncio.create_task(self.stop_requested.wait())
            await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            log.info("stopping")
            await scheduler.stop()
            server.should_exit = True
            await serving
            stopped.cancel()
        log.info("stopped")
        return 0

    def _install_signals(self, app: App, scheduler: Scheduler) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload_soon, app, scheduler)

    def _reload_soon(self, app: App, scheduler: Scheduler) -> None:
        task = asyncio.create_task(self.reload(app, scheduler))
        self.reloads.add(task)
        task.add_done_callback(self.reloads.discard)

    async def reload(self, app: App, scheduler: Scheduler) -> None:
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload refused, the configuration stays as it was: %s", problem)
            return
        await settle(app, config)  # the desk's sources kept; the other workers told
        scheduler.reschedule_digests()
        scheduler.wake()
        log.info("configuration reloaded: %d sources", len(app.config.sources))

    def _kick(self, scheduler: Scheduler) -> None:
        """Deliver soon: a confirmation email should not wait for the next drain."""
        task = asyncio.create_task(scheduler.drain())
        self.reloads.add(task)
        task.add_done_callback(self.reloads.discard)
