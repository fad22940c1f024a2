"""`watcher run` as a real process, for the tests that need the whole service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import demo_data, write_config
from tests.smtp import PASSWORD, MailServer, free_port
from watcher.demo.site import SiteServer

API_TOKEN = "service-test-token-5f1d9c"


def service_data(
    site: SiteServer, mail: MailServer, tmp_path: Path, *, interval: str = "2s"
) -> dict[str, Any]:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    port = free_port()
    data["service"].update(listen=f"127.0.0.1:{port}", public_url=f"http://127.0.0.1:{port}")
    data["checks"] = {"interval": interval, "jitter": "0s", "timeout": "5s", "retry": "2s"}
    data["mail"] = {**mail.settings(), "settle": "3s"}
    return data


@dataclass
class Running:
    """A `watcher run` process and what it wrote to stderr; `prefix` runs it under another
    command (`unshare` for a process that looks like it runs on another host)."""

    config: Path
    prefix: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] = field(init=False)
    base: str = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        from watcher.loading import load_config

        listen = load_config(self.config, environ={}).settings.service.listen
        self.base = f"http://{listen}"
        env = {
            **os.environ,
            "WATCHER_MAIL__PASSWORD": PASSWORD,
            "WATCHER_API_TOKEN": API_TOKEN,
            "WATCHER_LOG_FORMAT": "json",
        }
        self.log_path = self.config.parent / f"service-{time.monotonic_ns()}.log"
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "watcher", "--config", str(self.config), "run"],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.started = time.monotonic()
        self.wait_for(self.healthy, timeout=20, what="/healthz to answer 200")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self, path: str, method: str = "GET") -> Any:
        response = httpx.request(
            method,
            f"{self.base}/api/v1{path}",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def wait_for(self, condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"watcher run exited ({self.process.returncode}):\n{self.log()}"
                )
            found = condition()
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log()}")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 10) -> tuple[int, float]:
        """SIGTERM, then the exit status and how long the exit took."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=timeout)
        self.log_file.close()
        return status, time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self.log_file.closed:
            self.log_file.close()

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]


def start(config: Path, prefix: list[str] | None = None) -> Running:
    return Running(config, prefix or [])


def on_another_host(name: str) -> list[str]:
    """A command prefix that runs a process with the host name `name` (a UTS namespace of its
    own, as a container on another machine has): its claims cannot be checked for a live
    process from here, only left to expire. Needs root."""
    return ["unshare", "--uts", "sh", "-c", f'hostname {name} && exec "$@"', "sh"]


def config_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    return write_config(tmp_path, data)
