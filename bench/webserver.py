"""The benchmark's web server: nginx (one worker, no access log) serving the generated pages
with ETag and Last-Modified, so conditional requests get their 304s.

Moving to a revision rewrites only the pages whose bytes differ and gives them a modification
time of that revision's own, so nginx's validators change exactly when a page does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from generate import changed_pages, page

CONFIG = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; }}
    default_type application/octet-stream;
    sendfile on;
    etag on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
    }}
}}
"""
BASE_TIME = 1_600_000_000


class Site:
    def __init__(self, root: Path, count: int, seed: int = 42) -> None:
        if shutil.which("nginx") is None:
            raise SystemExit("nginx is missing: apt-get install nginx")
        self.root, self.count, self.seed = root, count, seed
        self.changed = changed_pages(seed, count)
        self.pages: dict[int, str] = {}
        self.revision = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        (root / "www" / "p").mkdir(parents=True, exist_ok=True)
        for folder in (root, root / "www", root / "www" / "p"):  # nginx's worker is not root
            folder.chmod(0o755)
        (root / "tmp").mkdir(exist_ok=True)
        (root / "nginx.conf").write_text(CONFIG.format(root=root, port=self.port))
        self.process: subprocess.Popen[bytes] | None = None

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/p/{n:05d}.html" for n in range(self.count)]

    def start(self) -> Site:
        self.process = subprocess.Popen(
            ["nginx", "-c", str(self.root / "nginx.conf"), "-p", str(self.root)]
        )
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait()

    def move_to(self, revision: int) -> None:
        """Serve `revision`: rewrite the pages that differ, with a new modification time."""
        stamp = BASE_TIME + revision * 1000
        for number in range(self.count):
            text = page(self.seed, number, revision, self.changed)
            if self.pages.get(number) == text:
                continue
            self.pages[number] = text
            path = self.root / "www" / "p" / f"{number:05d}.html"
            path.write_text(text)
            os.utime(path, (stamp, stamp))
        self.revision = revision
