"""A latency-bound pass: N sources spread over many hosts that each answer after 50-500 ms
(a few slow, a few failing), checked by one `watcher run` worker. See bench/README.md.

    .venv/bin/python bench/latency.py                            # 20,000 sources, 1,000 hosts
    .venv/bin/python bench/latency.py --sources 2000 --urlwatch  # and urlwatch on the same

The web is latency_server.py, in a process of its own: one port on 127.0.0.1 per host (a
host is host:port to watcher's `per_host`), counting requests in flight per host. Source n
is on host n mod H, so consecutive sources are on different hosts. The pass is the baseline:
every source made due at one instant t0 while the worker waits, idle (start-up not timed),
and ended by the worker's last logged batch. Its floor is the summed latency of the requests
divided by `checks.concurrency`: no worker holding that many requests in flight can beat it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proc import cpu_of  # noqa: E402
from run import OUT, urlwatch  # noqa: E402
from workers import batches, free_port, make_due, wait_until  # noqa: E402

from watcher.service.scheduler import IDLE_MAX  # noqa: E402

CONCURRENCY = 128
PER_HOST = 2
LEAD = 15.0


def host_of(n: int, count: int, hosts: int, grouped: bool) -> int:
    """Source n's host: n mod H, or with `grouped` each host's sources one after another
    (a site's pages together, as a configuration lists them)."""
    return n * hosts // count if grouped else n % hosts


def config(folder: Path, ports: list[int], count: int, grouped: bool = False) -> Path:
    lines = [
        "[service]",
        f'database = "sqlite:///{folder}/watcher.db"',
        "[checks]",
        'interval = "6h"',
        'timeout = "10s"',
        f"per_host = {PER_HOST}",
        f"concurrency = {CONCURRENCY}",
        "[mail]",
        'transport = "maildir"',
        f'maildir = "{folder}/mail"',
    ]
    for start in range(0, count, 100):
        lines += ["[[countries]]", f'code = "C{start // 100:03d}"', f'name = "Country {start}"']
        for n in range(start, min(start + 100, count)):
            port = ports[host_of(n, count, len(ports), grouped)]
            lines += [
                "[[countries.sources]]",
                f'id = "s{n:05d}"',
                f'url = "http://127.0.0.1:{port}/p{n}.html"',
                "allow_private = true",  # the hosts are on loopback
            ]
    path = folder / "watcher.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def stats(control: int) -> dict[str, Any]:
    return dict(httpx.get(f"http://127.0.0.1:{control}/stats", timeout=10).json())


def start_web(folder: Path, hosts: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ports_file = folder / "ports.json"
    server = subprocess.Popen(
        [sys.executable, str(HERE / "latency_server.py"), str(hosts), "42", str(ports_file)]
    )
    wait_until(ports_file.exists, 30, "the latency server")
    time.sleep(0.2)
    return server, json.loads(ports_file.read_text())


def watcher_pass(
    folder: Path, web: dict[str, Any], count: int, grouped: bool = False
) -> list[dict[str, Any]]:
    """Two passes of one worker: the baseline, then the same pages again (unchanged)."""
    path = config(folder, web["ports"], count, grouped)
    log = folder / "worker.log"
    env = {
        **os.environ,
        "WATCHER_LOG_FORMAT": "json",
        "WATCHER_SERVICE__LISTEN": f"127.0.0.1:{free_port()}",
    }
    t0 = asyncio.run(make_due(path, LEAD))
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(path), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    results = []
    try:
        for name in ("baseline", "unchanged"):
            if name == "unchanged":
                # Further ahead than the longest the idle worker sleeps without looking
                # (on SQLite nothing wakes it when another process moves due times): it
                # reads the new due time once, then wakes at t0, as for any due time.
                t0 = asyncio.run(make_due(path, IDLE_MAX + 5.0))
            done = sum(r["checked"] for r in batches(log))
            time.sleep(max(0.0, (t0 - datetime.now(t0.tzinfo)).total_seconds() - 1))
            before, cpu = stats(web["control"]), cpu_of([worker.pid])
            wait_until(
                lambda d=done: sum(r["checked"] for r in batches(log)) >= d + count,
                600,
                f"the {name} pass",
            )
            cpu = cpu_of([worker.pid]) - cpu
            after = stats(web["control"])
            records = [r for r in batches(log) if datetime.fromisoformat(r["time"]) >= t0]
            ended = max(datetime.fromisoformat(r["time"]) for r in records if r["checked"])
            seconds = (ended - t0).total_seconds()
            floor = (after["waited"] - before["waited"]) / CONCURRENCY
            results.append(
                {
                    "tool": "watcher",
                    "pass": name,
                    "layout": "grouped" if grouped else "interleaved",
                    "sources": count,
                    "hosts": len(web["ports"]),
                    "seconds": round(seconds, 2),
                    "floor": round(floor, 2),
                    "ratio": round(seconds / floor, 3),
                    "worker CPU": round(cpu, 2),
                    "requests": after["requests"] - before["requests"],
                    "failed": sum(r["failed"] for r in records),
                    "max_per_host": after["max_per_host"],
                    "max_in_flight": after["max_total"],
                }
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    return results


def urlwatch_pass(folder: Path, web: dict[str, Any], count: int) -> dict[str, Any]:
    """urlwatch 2.29 on the same sources: its default worker threads, one run."""
    ports = web["ports"]
    jobs = "\n---\n".join(
        f'name: s{n:05d}\nurl: "http://127.0.0.1:{ports[n % len(ports)]}/p{n}.html"'
        for n in range(count)
    )
    (folder / "urls.yaml").write_text(jobs + "\n")
    (folder / "urlwatch.yaml").write_text(
        "display: {new: false, error: false, unchanged: false, empty-diff: false}\n"
        "report:\n  text: {minimal: true}\n  stdout: {enabled: false}\n"
        "  email: {enabled: false}\n"
    )
    command = [
        str(urlwatch()),
        "--urls",
        str(folder / "urls.yaml"),
        "--config",
        str(folder / "urlwatch.yaml"),
        "--cache",
        str(folder / "cache.db"),
    ]
    before = stats(web["control"])
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.monotonic() - started
    after = stats(web["control"])
    waited = after["waited"] - before["waited"]
    return {
        "tool": "urlwatch",
        "sources": count,
        "hosts": len(ports),
        "seconds": round(seconds, 2),
        "floor (at watcher's concurrency)": round(waited / CONCURRENCY, 2),
        "requests": after["requests"] - before["requests"],
        "max_in_flight": after["max_total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument("--urlwatch", action="store_true", help="run urlwatch on them too")
    parser.add_argument("--grouped", action="store_true", help="each host's sources together")
    args = parser.parse_args()
    root = OUT / "latency"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    server, web = start_web(root, args.hosts)
    try:
        (root / "watcher").mkdir()
        for result in watcher_pass(root / "watcher", web, args.sources, args.grouped):
            print(json.dumps(result), flush=True)
        if args.urlwatch:
            (root / "urlwatch").mkdir()
            print(json.dumps(urlwatch_pass(root / "urlwatch", web, args.sources)), flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
