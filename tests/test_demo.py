"""`watcher demo --once` as the README runs it, and `watcher healthcheck`."""

from __future__ import annotations

import mailbox
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.service import Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer


def watcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args], capture_output=True, text=True, timeout=120
    )


def test_demo_once_tells_the_story_and_writes_the_emails(tmp_path: Path) -> None:
    result = watcher("demo", "--once", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "checked 5 sources: 5 baselines" in out
    assert "checked 5 sources: 0 baselines, 3 changed, 2 unchanged, 0 failed" in out
    assert "checked 5 sources: 0 baselines, 0 changed, 5 unchanged, 0 failed" in out
    assert "done: 3 changes recorded, 4 emails written" in out
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    subjects = sorted((str(m["To"]), str(m["Subject"])) for m in box)
    assert subjects == [
        # One section in every country, and a keyword: only what those touch.
        (
            "ban-policy@monitor.example",
            "Lao PDR: entry updated: Lao PDR submits Article 7 transparency report (corrected)",
        ),
        (
            "ban-policy@monitor.example",
            "Vietnam: country profile updated (Cluster Munition Ban Policy)",
        ),
        # Every country, whole.
        (
            "editor@monitor.example",
            "Lao PDR: entry updated: Lao PDR submits Article 7 transparency report (corrected)",
        ),
        (
            "editor@monitor.example",
            "Vietnam: country profile updated (Mine Ban Policy, Cluster Munition Ban Policy)",
        ),
    ]
    assert 'email to ban-policy@monitor.example: "Vietnam: country profile updated' in out
    # Beside email, a webhook channel into a local receiver, whose log the demo prints.
    assert "webhook demo-webhook received a signed change: Vietnam, 2 changes" in out
    hooks = (tmp_path / "webhook.log").read_text().splitlines()
    assert len(hooks) == 1
    assert "signature ok" in hooks[0]
    log = watcher("--config", str(tmp_path / "watcher.toml"), "log")
    assert log.returncode == 0
    assert "Cluster Munition Ban Policy: new section" in log.stdout
    assert "SIGNIFICANCE" in log.stdout


@pytest.fixture
def service(site: SiteServer, mail_server: MailServer, tmp_path: Path) -> Iterator[Running]:
    running = start(write_config(tmp_path, service_data(site, mail_server, tmp_path)))
    yield running
    running.kill()


def test_healthcheck_asks_the_running_service(service: Running) -> None:
    result = watcher("--config", str(service.config), "healthcheck")
    assert result.returncode == 0
    assert result.stdout.startswith("healthy:")
    service.stop()
    result = watcher("--config", str(service.config), "healthcheck", "--timeout", "1")
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy:")


def test_the_demo_prints_a_command_that_works_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a clone, without an activated venv: `.venv/bin/watcher`, not a bare `watcher`
    the shell does not find."""
    from watcher.demo.run import watcher_command

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    command = watcher_command()
    assert command.split()[0] != "watcher"
    done = subprocess.run(
        [*command.split(), "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
