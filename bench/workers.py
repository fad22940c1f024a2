"""Several `watcher run` workers on one database: how long one pass over N sources, all due at
once, takes with 1, 2 and 3 workers on PostgreSQL and 1 on SQLite. See bench/README.md.

    .venv/bin/python bench/workers.py                   # N = 2,000 and 20,000
    .venv/bin/python bench/workers.py --sizes 2000      # one size

The pages are the benchmark's (generate.py, served by nginx): the baseline is taken once at
rev1 by `watcher check --all`, then the site moves to rev2 (every footer differs, nothing
inside `#content` does: every page is fetched, parsed and found unchanged). The workers are
started with nothing due; every source is then made due at one instant t0 a few seconds
ahead, so each worker is idle and waiting when the pass begins (start-up is not timed). The
pass ends with the last batch a worker logs; the sum of the batches must be exactly N (a
source checked twice would show). CPU time is read from /proc for the workers, for every
PostgreSQL process and for nginx over the pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proc import cpu_of, pids_named  # noqa: E402
from run import OUT, SEED, watcher_config  # noqa: E402
from webserver import Site  # noqa: E402

POSTGRES = os.environ.get("WATCHER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
BENCH_DB = "watcher_bench_workers"
LEAD = 20.0  # seconds between making everything due and t0: every worker is up and idle


@dataclass
class Setup:
    name: str  # "postgresql x 2"
    database: str  # "postgresql" or "sqlite"
    workers: int


SETUPS = (
    Setup("sqlite x 1", "sqlite", 1),
    Setup("postgresql x 1", "postgresql", 1),
    Setup("postgresql x 2", "postgresql", 2),
    Setup("postgresql x 3", "postgresql", 3),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder}/watcher.db"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{BENCH_DB}"'))
    return f"{POSTGRES}/{BENCH_DB}"


def watcher(config: Path, *args: str) -> None:
    command = [sys.executable, "-m", "watcher", "--config", str(config), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


async def make_due(config: Path, lead: float) -> datetime:
    """Every source due at one instant `lead` seconds from now (the database's time)."""
    from sqlalchemy import update

    from watcher.app import open_app
    from watcher.loading import load_config
    from watcher.store import write_transaction
    from watcher.store.schema import sources

    async with open_app(load_config(config)) as app:
        t0 = app.clock() + timedelta(seconds=lead)
        async with write_transaction(app.engine) as connection:
            await connection.execute(update(sources).values(next_check_at=t0))
    return t0


_BATCHES: dict[Path, tuple[int, list[dict[str, Any]]]] = {}


def batches(log: Path) -> list[dict[str, Any]]:
    """The batches a worker has logged so far ("pass: N checked"), read on from where the
    last call stopped: the log holds a line per check, and rereading it all four times a
    second would take a core from the worker being measured."""
    offset, found = _BATCHES.get(log, (0, []))
    with log.open("rb") as stream:
        stream.seek(offset)
        chunk = stream.read()
    complete = chunk.rfind(b"\n") + 1
    for line in chunk[:complete].splitlines():
        if line.startswith(b"{") and b'"checked"' in line:
            found.append(json.loads(line))
    _BATCHES[log] = (offset + complete, found)
    return list(found)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def one_setup(site: Site, setup: Setup, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True)
    database = fresh_database(setup.database, folder)
    config = watcher_config(site, folder, database=database)
    site.move_to(1)
    watcher(config, "check", "--all", "--no-send")  # the baseline, one process
    site.move_to(2)
    t0 = asyncio.run(make_due(config, LEAD))
    logs = [folder / f"worker{n}.log" for n in range(setup.workers)]
    env = {**os.environ, "WATCHER_LOG_FORMAT": "json"}
    workers = []
    for log in logs:
        port = free_port()
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "watcher", "--config", str(config), "run"],
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                env={**env, "WATCHER_SERVICE__LISTEN": f"127.0.0.1:{port}"},
            )
        )
    try:
        wait = (t0 - datetime.now(t0.tzinfo)).total_seconds() - 1
        if wait < 1:
            raise SystemExit("the workers took the whole lead to start: raise LEAD")
        time.sleep(wait)
        others = {"postgres": pids_named("postgres"), "nginx": pids_named("nginx")}
        worker_pids = [process.pid for process in workers]
        cpu_before = {"workers": cpu_of(worker_pids)} | {k: cpu_of(v) for k, v in others.items()}

        def checked() -> int:
            return sum(r["checked"] for log in logs for r in batches(log))

        wait_until(lambda: checked() >= site.count, 60 + site.count / 50, "the pass to finish")
        cpu_after = {"workers": cpu_of(worker_pids)} | {k: cpu_of(v) for k, v in others.items()}
        time.sleep(2)  # a late batch would show as a double check
        shares = [sum(r["checked"] for r in batches(log)) for log in logs]
        failed = sum(r["failed"] for log in logs for r in batches(log))
        ended = max(
            datetime.fromisoformat(r["time"]) for log in logs for r in batches(log) if r["checked"]
        )
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(timeout=30)
    if failed:
        raise SystemExit(f"{failed} checks failed: see {folder}")
    seconds = (ended - t0).total_seconds()
    return {
        "setup": setup.name,
        "n": site.count,
        "seconds": round(seconds, 2),
        "checks_per_second": round(site.count / seconds, 1),
        "shares": shares,
        "cpu": {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after},
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| N | workers | pass | checks/s | vs 1 worker (PostgreSQL) | worker CPU | PostgreSQL CPU"
        " | nginx CPU | each worker's share |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        one = next(
            r["seconds"] for r in results if r["n"] == result["n"] and r["setup"] == SETUPS[1].name
        )
        cpu = result["cpu"]
        lines.append(
            f"| {result['n']:,} | {result['setup']} | {result['seconds']:.2f} s"
            f" | {result['checks_per_second']:,.0f} | {one / result['seconds']:.2f}x"
            f" | {cpu['workers']:.2f} s | {cpu['postgres']:.2f} s | {cpu['nginx']:.2f} s"
            f" | {', '.join(f'{share:,}' for share in result['shares'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="page counts (default 2000,20000)")
    parser.add_argument("--setups", default=",".join(s.name for s in SETUPS))
    args = parser.parse_args()
    wanted = set(args.setups.split(","))
    results = []
    for size in (int(n) for n in args.sizes.split(",")):
        root = OUT / f"workers-{size}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        site = Site(root / "site", size, SEED).start()
        try:
            for setup in SETUPS:
                if setup.name in wanted:
                    result = one_setup(site, setup, root / setup.name.replace(" ", ""))
                    print(json.dumps(result), flush=True)
                    results.append(result)
        finally:
            site.stop()
            shutil.rmtree(root, ignore_errors=True)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    if all(s.name in wanted for s in SETUPS[1:]):
        print(table(results))


if __name__ == "__main__":
    main()
