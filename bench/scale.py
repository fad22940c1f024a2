"""One process with 100,000 sources, and one change to 10,000 subscribers. See bench/README.md.

    .venv/bin/python bench/scale.py                      # every part, N = 100,000
    .venv/bin/python bench/scale.py --parts dbwork       # one part

Parts:
- `service`: `watcher run` on SQLite (a tiny page served by nginx, one URL per source by
  its query string). With N sources: start-up, from exec to /healthz answering 200, on a
  database that already holds them with none due (the first opening, which adds them, is
  timed on its own); the CPU the idle worker uses over 60 s; its RSS. At each of
  `--pass-sizes`: two passes, every source made due at once (the baselines, then the
  unchanged pass: 304s), timed by the worker's logged batches, and the peak RSS (VmHWM).
- `dbwork`: on PostgreSQL, 1,000 due sources checked the way a worker does (batches of
  `run_pass`) while the table holds 1,000, 10,000 or 100,000, then 10,000 due of 100,000:
  SQL statements sent per check (SQLAlchemy's cursor events) and table rows read per check
  (`pg_stat_user_tables`: sequential and index reads), which must grow neither with the
  table nor with the number due.
- `fanout`: one change of the example site to 10,000 subscribers, composed and delivered to a
  local SMTP server in a process of its own (`--smtp-server`: Python's aiosmtpd, or
  Postfix's smtp-sink written in C, from Debian's postfix package), against 1,000: seconds,
  the CPU watcher and the server used while delivering, and watcher's peak RSS; with
  `--fanout-workers N`, N processes drain one outbox on PostgreSQL as `watcher run` workers.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proc import cpu_of  # noqa: E402
from run import OUT  # noqa: E402
from webserver import CONFIG  # noqa: E402
from workers import POSTGRES, admin, batches, free_port, make_due, wait_until  # noqa: E402

PAGE = "<html><body><div id='content'><h2>Profile</h2><p>Nothing new.</p></div></body></html>"
SCALE_DB = "watcher_bench_scale"


class TinySite:
    """nginx serving one small page, with ETag and Last-Modified (conditional requests: 304)."""

    def __init__(self, root: Path) -> None:
        (root / "www").mkdir(parents=True)
        (root / "tmp").mkdir()
        for folder in (root, root / "www"):
            folder.chmod(0o755)
        (root / "www" / "page.html").write_text(PAGE)
        self.port = free_port()
        (root / "nginx.conf").write_text(CONFIG.format(root=root, port=self.port))
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/page.html?n={n}"

    def __enter__(self) -> TinySite:
        self.process = subprocess.Popen(
            ["nginx", "-c", str(self.root / "nginx.conf"), "-p", str(self.root)]
        )
        wait_until(lambda: _answers(self.url(0)), 10, "nginx")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def config(folder: Path, site: TinySite, count: int, database: str) -> Path:
    lines = [
        "[service]",
        f'database = "{database}"',
        "[checks]",
        'interval = "6h"',
        "concurrency = 32",
        "per_host = 32",
        "[mail]",
        'transport = "maildir"',
        f'maildir = "{folder}/mail"',
    ]
    for start in range(0, count, 100):
        lines += ["[[countries]]", f'code = "C{start // 100:04d}"', f'name = "Country {start}"']
        for n in range(start, min(start + 100, count)):
            lines += ["[[countries.sources]]", f'id = "s{n:06d}"', f'url = "{site.url(n)}"']
            lines.append("allow_private = true")  # nginx is on loopback
    path = folder / f"watcher-{count}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key}")


async def add_sources(path: Path, due_in: timedelta | None) -> float:
    """Open the app once (which adds the configured sources); with `due_in`, move every due
    time that far ahead. How long the opening took."""
    from sqlalchemy import update

    from watcher.app import open_app
    from watcher.loading import load_config
    from watcher.store import write_transaction
    from watcher.store.schema import sources

    started = time.perf_counter()
    async with open_app(load_config(path)) as app:
        opened = time.perf_counter() - started
        if due_in is not None:
            async with write_transaction(app.engine) as connection:
                await connection.execute(update(sources).values(next_check_at=app.clock() + due_in))
    return opened


def service(count: int, pass_sizes: list[int]) -> dict[str, Any]:
    """Start-up, idle CPU and RSS with `count` sources; the passes at each of `pass_sizes`."""
    root = OUT / "scale"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    figures: dict[str, Any] = {"sources": count}
    try:
        with TinySite(root / "site") as site:
            for n in sorted({count, *pass_sizes}):
                folder = root / f"n{n}"
                folder.mkdir()
                path = config(folder, site, n, f"sqlite:///{folder}/watcher.db")
                opened = asyncio.run(add_sources(path, timedelta(days=1)))
                found = {f"N={n:,}: first open, adding the sources (s)": round(opened, 2)}
                found |= one_service(path, folder, n, passes=n in pass_sizes)
                print(json.dumps(found), flush=True)
                figures |= found
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def start_up(path: Path, cache: Path) -> float:
    """Seconds from `watcher run` to its first answer on /healthz, with `cache` as the
    configuration cache's folder (config/cache.py); the process is stopped again."""
    port = free_port()
    env = {
        **os.environ,
        "WATCHER_CACHE_DIR": str(cache),
        "WATCHER_SERVICE__LISTEN": f"127.0.0.1:{port}",
    }
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(path), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60, "/healthz")
        return time.perf_counter() - started
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def one_service(path: Path, folder: Path, count: int, *, passes: bool) -> dict[str, Any]:
    log = folder / "worker.log"
    cache = folder / "cache"
    cold = start_up(path, cache)  # the first start after an edit: the file read afresh
    port = free_port()
    env = {
        **os.environ,
        "WATCHER_CACHE_DIR": str(cache),
        "WATCHER_LOG_FORMAT": "json",
        "WATCHER_SERVICE__LISTEN": f"127.0.0.1:{port}",
    }
    started = time.perf_counter()
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(path), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    figures: dict[str, Any] = {}
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60, "/healthz")
        figures[f"N={count:,}: start-up, file edited (s)"] = round(cold, 2)
        figures[f"N={count:,}: start-up (s)"] = round(time.perf_counter() - started, 2)
        time.sleep(5)  # settle: the first drain, the first gauges
        cpu, at = cpu_of([worker.pid]), time.monotonic()
        time.sleep(60)
        idle = (cpu_of([worker.pid]) - cpu) / (time.monotonic() - at)
        figures[f"N={count:,}: idle CPU (%)"] = round(100 * idle, 2)
        figures[f"N={count:,}: RSS idle (MB)"] = round(vm(worker.pid, "VmRSS"), 1)
        for name in ("baseline", "unchanged") if passes else ():
            done = sum(r["checked"] for r in batches(log))
            t0 = asyncio.run(make_due(path, 3.0))
            wait_until(
                lambda d=done: sum(r["checked"] for r in batches(log)) >= d + count,
                60 + count / 50,
                f"the {name} pass",
            )
            records = [r for r in batches(log) if datetime.fromisoformat(r["time"]) >= t0]
            # From the first batch's claim to the last one's commit: the worker sleeps until
            # it looks at the table (at most 30 s: nothing tells it, from another process,
            # on SQLite, that every due time moved), and that wait is not the pass.
            ended = max(datetime.fromisoformat(r["time"]) for r in records)
            began = min(
                datetime.fromisoformat(r["time"]) - timedelta(seconds=r["duration"])
                for r in records
            )
            seconds = (ended - began).total_seconds()
            failed = sum(r["failed"] for r in records)
            if failed:
                raise SystemExit(f"{failed} checks failed: see {log}")
            figures[f"N={count:,}: {name} pass (s)"] = round(seconds, 2)
            figures[f"N={count:,}: {name} pass, ms a check"] = round(1000 * seconds / count, 3)
        figures[f"N={count:,}: peak RSS (MB)"] = round(vm(worker.pid, "VmHWM"), 1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    return figures


async def db_work(site: TinySite, folder: Path, total: int, due: int) -> dict[str, float]:
    """Statements and rows read per check for `due` checks, the table holding `total`."""
    from sqlalchemy import event, text, update

    from watcher.app import open_app
    from watcher.check import run_pass
    from watcher.loading import load_config
    from watcher.store import write_transaction
    from watcher.store.schema import sources

    await admin(f'DROP DATABASE IF EXISTS "{SCALE_DB}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{SCALE_DB}"')
    path = config(folder, site, total, f"{POSTGRES}/{SCALE_DB}")
    async with open_app(load_config(path)) as app:
        async with write_transaction(app.engine) as connection:
            later = app.clock() + timedelta(days=1)
            await connection.execute(update(sources).values(next_check_at=later))
            ids = [f"s{n:06d}" for n in range(0, total, total // due)][:due]
            await connection.execute(
                update(sources).where(sources.c.id.in_(ids)).values(next_check_at=app.clock())
            )
        async with app.engine.connect() as connection:  # as autovacuum would, by then
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        reads = text(
            "SELECT coalesce(sum(seq_tup_read), 0) + coalesce(sum(idx_tup_fetch), 0)"
            " FROM pg_stat_user_tables"
        )

        async def rows_read() -> int:
            async with write_transaction(app.engine) as connection:
                await connection.execute(text("SELECT pg_stat_force_next_flush()"))
            await asyncio.sleep(0.1)
            async with write_transaction(app.engine) as connection:
                await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
                return int((await connection.execute(reads)).scalar_one())

        before = await rows_read()
        event.listen(app.engine.sync_engine, "before_cursor_execute", count)
        checked = 0
        while True:  # as the worker's loop does it
            result = await run_pass(app, limit=128, siblings_within=timedelta(minutes=1))
            if not result.outcomes:
                break
            checked += len(result.outcomes)
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
        after = await rows_read()
    await admin(f'DROP DATABASE IF EXISTS "{SCALE_DB}" WITH (FORCE)')
    return {
        "checked": checked,
        "statements a check": round(statements / checked, 3),
        "rows read a check": round((after - before) / checked, 2),
    }


def dbwork(count: int) -> dict[str, Any]:
    root = OUT / "dbwork"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    figures: dict[str, Any] = {}
    try:
        with TinySite(root / "site") as site:
            for total, due in ((1_000, 1_000), (count // 10, 1_000), (count, 1_000)):
                figures[f"table of {total:,}"] = asyncio.run(db_work(site, root, total, due))
            # Many due at once (an outage's end): a claim must not read every due source.
            due = count // 10
            figures[f"table of {count:,}, {due:,} due"] = asyncio.run(
                db_work(site, root, count, due)
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def fanout(server_name: str, connections: int, workers: int) -> dict[str, Any]:
    """micro.py's compose-and-deliver, at 1,000 and 10,000 subscribers, each size in a process
    of its own (for its peak RSS), to `server_name` (micro.SMTP_SERVERS) over `connections`
    per worker: one process on SQLite, or `workers` processes on PostgreSQL."""
    figures: dict[str, Any] = {"server": server_name, "connections": connections}
    figures["database"] = "sqlite" if workers == 1 else f"postgresql x {workers}"
    for readers in (1_000, 10_000):
        database = ""
        if workers > 1:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{SCALE_DB}" WITH (FORCE)'))
            asyncio.run(admin(f'CREATE DATABASE "{SCALE_DB}"'))
            database = f"{POSTGRES}/{SCALE_DB}"
        program = (
            "import dataclasses, json, os, sys; sys.path.insert(0, sys.argv[1]);"
            "import micro, scale;"
            "mailing = micro.thousand_emails(int(sys.argv[2]), server_name=sys.argv[3],"
            " connections=int(sys.argv[4]), database=sys.argv[5] or None,"
            " workers=int(sys.argv[6]));"
            "print(json.dumps([dataclasses.asdict(mailing), scale.vm(os.getpid(), 'VmHWM')]))"
        )
        arguments = [str(HERE), str(readers), server_name, str(connections), database]
        done = subprocess.run(
            [sys.executable, "-c", program, *arguments, str(workers)],
            capture_output=True,
            text=True,
            check=True,
        )
        mailing, peak = json.loads(done.stdout.strip().splitlines()[-1])
        if mailing["sent"] != readers:
            raise SystemExit(f"{mailing['sent']} of {readers} sent")
        figures[f"{readers:,} readers"] = {
            "composed (s)": round(mailing["composed"], 2),
            "delivered (s)": round(mailing["delivered"], 2),
            "total (s)": round(mailing["composed"] + mailing["delivered"], 2),
            "watcher CPU delivering (s)": round(mailing["watcher_cpu"], 2),
            "server CPU (s)": round(mailing["server_cpu"], 2),
            "shares": mailing["shares"],
            "peak RSS (MB), the first process": round(peak, 1),
        }
    if workers > 1:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{SCALE_DB}" WITH (FORCE)'))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100_000)
    parser.add_argument(
        "--pass-sizes", default="10000,20000", help="timed passes at these sizes (linearity)"
    )
    parser.add_argument("--parts", default="service,dbwork,fanout")
    parser.add_argument(
        "--smtp-server", default="aiosmtpd", help="fanout's receiver: aiosmtpd or smtp-sink"
    )
    parser.add_argument("--connections", type=int, default=4, help="fanout's mail.connections")
    parser.add_argument(
        "--fanout-workers", type=int, default=1, help="fanout on PostgreSQL with this many workers"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.pass_sizes.split(",") if n]  # "": no timed passes
    # The configuration cache (config/cache.py) of the files made here stays under OUT.
    os.environ.setdefault("WATCHER_CACHE_DIR", str(OUT / "config-cache"))
    parts = {
        "service": lambda count: service(count, sizes),
        "dbwork": dbwork,
        "fanout": lambda _: fanout(args.smtp_server, args.connections, args.fanout_workers),
    }
    for name in args.parts.split(","):
        started = datetime.now(UTC)
        figures = parts[name](args.sources)
        print(
            json.dumps({"part": name, "at": started.isoformat(), **figures}, indent=1), flush=True
        )


if __name__ == "__main__":
    main()
