"""Micro figures: one pass over the example site, extraction of a ~30 KB page, the diff of
a 2 MB page whose every line changed, pruning snapshots beside a long change log, and 1,000
emails composed and delivered. Prints medians (the pruning and the emails: one run);
asserts nothing.

    .venv/bin/python bench/micro.py
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w
from proc import cpu_of

from watcher.app import open_app
from watcher.check import run_pass
from watcher.config import Config, Source
from watcher.demo.site import SiteServer, site_root
from watcher.diff import diff_pages
from watcher.extract import Line, PageDocument
from watcher.extract.page import extract_page
from watcher.loading import build_config

DEMO = Path(__file__).parent.parent / "src" / "watcher" / "demo" / "demo.toml"
CORPUS = Path(__file__).parent.parent / "tests" / "corpus"


def median_seconds(function: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def example_site_passes() -> dict[str, float]:
    figures: dict[str, list[float]] = {"r1 (baselines)": [], "r2 (3 changes)": [], "r3": []}
    for _ in range(5):
        with SiteServer() as site, tempfile.TemporaryDirectory() as folder:
            data = tomllib.loads(DEMO.read_text().replace("http://127.0.0.1:8931", site.base_url))
            data["service"]["database"] = f"sqlite:///{folder}/w.db"
            config = build_config(data, {}, None)

            async def passes(config: Any = config, site: SiteServer = site) -> None:
                async with open_app(config) as app:
                    for revision, label in zip(("r1", "r2", "r3"), figures, strict=True):
                        site.revision = revision
                        started = time.perf_counter()
                        await run_pass(app, every=True)
                        figures[label].append(time.perf_counter() - started)

            asyncio.run(passes())
    return {label: statistics.median(times) for label, times in figures.items()}


def page_30kb() -> str:
    html = (site_root() / "r2" / "cp" / "vietnam.html").read_text()
    head, _, rest = html.partition('<div id="content">')
    content, _, tail = rest.partition('<div id="footer">')
    while len(html) < 30_000:
        content = content + content[:4000]
        html = f'{head}<div id="content">{content}<div id="footer">{tail}'
    return html


def big_documents(lines: int = 15_000) -> tuple[PageDocument, PageDocument]:
    rng = random.Random(1)
    words = "policy mine ban treaty state party cluster munition convention report".split()
    old, new = [], []
    for number in range(lines):
        text = " ".join(rng.choice(words) for _ in range(16))
        section = (f"Section {number // 100}",)
        old.append(Line(section, "text", f"{number}. {text} (2011)"))
        new.append(Line(section, "text", f"{number}. {text} (2012)"))
    return PageDocument(tuple(old)), PageDocument(tuple(new))


SMTP_SERVERS = {
    # Python's aiosmtpd, as the tests use it: its CPU shares the machine with watcher's
    "aiosmtpd": lambda port: [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-c",
        "aiosmtpd.handlers.Sink",
        "-l",
        f"127.0.0.1:{port}",
    ],
    # Postfix's smtp-sink (Debian's postfix package), a receiver in C as a real relay is
    "smtp-sink": lambda port: ["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "256"],
}


@dataclass
class Mailing:
    """A fan-out's figures: wall seconds until every message was composed, then until every
    one was delivered; messages sent (each worker's share); the CPU seconds the watcher
    processes (all their threads) and the SMTP server used while delivering."""

    composed: float
    delivered: float
    sent: int
    watcher_cpu: float
    server_cpu: float
    shares: list[int]


def thousand_emails(
    count: int = 1000,
    *,
    server_name: str = "aiosmtpd",
    connections: int = 4,
    database: str | None = None,
    workers: int = 1,
) -> Mailing:
    """Compose and deliver `count` emails (the example site's Vietnam update) to an SMTP
    server running in a process of its own (`SMTP_SERVERS`), as a local relay would: by this
    process, or by `workers` processes sharing `database` (PostgreSQL), as `watcher run`
    workers do."""
    port = free_port()
    server = subprocess.Popen(
        SMTP_SERVERS[server_name](port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        with SiteServer() as site, tempfile.TemporaryDirectory() as folder:
            data = tomllib.loads(DEMO.read_text().replace("http://127.0.0.1:8931", site.base_url))
            data["service"]["database"] = database or f"sqlite:///{folder}/w.db"
            data["mail"] = {
                "transport": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "batch_size": 100,
                "connections": connections,
            }
            data["subscribers"] = [
                {"email": f"reader{n}@example.org", "countries": ["VN"]} for n in range(count)
            ]
            config = build_config(data, {}, None)

            async def change() -> None:
                async with open_app(config) as app:
                    await run_pass(app, every=True)
                    site.revision = "r2"
                    await run_pass(app, every=True)

            asyncio.run(change())
            if workers == 1:
                return _mailing([asyncio.run(_drain(config, server.pid))])
            path = Path(folder) / "watcher.toml"
            path.write_text(tomli_w.dumps(data))
            return _drain_in_processes(path, workers, server.pid)
    finally:
        server.terminate()
        server.wait()


async def _drain(config: Config, server: int, go: Callable[[], object] = lambda: None) -> Drain:
    """Compose what is pending and deliver it, as one worker's drain does; `go` is waited
    for once the app is open (so that several workers start together)."""
    from watcher.notify.delivery import deliver
    from watcher.notify.queue import compose_pending

    async with open_app(config) as app:
        await asyncio.to_thread(go)
        started = time.monotonic()  # system-wide: comparable between processes
        await compose_pending(app, settle=timedelta(0))
        composed = time.monotonic()
        cpu, server_cpu = time.process_time(), cpu_of([server])
        report = await deliver(app)
        return Drain(
            started,
            composed,
            time.monotonic(),
            report.sent,
            time.process_time() - cpu,
            cpu_of([server]) - server_cpu,
        )


@dataclass
class Drain:
    """One worker's drain: when it started, finished composing and finished delivering
    (`time.monotonic`), what it sent, its CPU and the server's while it delivered."""

    started: float
    composed: float
    ended: float
    sent: int
    cpu: float
    server_cpu: float


def _mailing(drains: list[Drain]) -> Mailing:
    start = min(d.started for d in drains)
    composed = max(d.composed for d in drains)
    return Mailing(
        composed - start,
        max(d.ended for d in drains) - composed,
        sum(d.sent for d in drains),
        sum(d.cpu for d in drains),
        max(d.server_cpu for d in drains),  # each saw the server's whole CPU meanwhile
        [d.sent for d in drains],
    )


def _drain_in_processes(config: Path, workers: int, server: int) -> Mailing:
    """`workers` processes drain one outbox at once, started together once all are open."""
    program = (
        "import asyncio, dataclasses, json, sys; sys.path.insert(0, sys.argv[1]); import micro;"
        "from watcher.loading import load_config;"
        "drain = asyncio.run(micro._drain(load_config(sys.argv[2]), int(sys.argv[3]),"
        " go=sys.stdin.readline));"
        "print(json.dumps(dataclasses.asdict(drain)))"
    )
    command = [sys.executable, "-c", program, str(Path(__file__).parent), str(config)]
    processes = [
        subprocess.Popen(
            [*command, str(server)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    time.sleep(5)  # every worker has opened the app and waits
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    drains = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed ({process.returncode})")
        drains.append(Drain(**json.loads(out.strip().splitlines()[-1])))
    return _mailing(drains)


def pruning_with_a_long_log(
    logged: int = 100_000, sources: int = 250, keep: int = 20
) -> tuple[float, int]:
    """One batch of new snapshots for `sources` sources that each hold `keep` already, so
    each drops its oldest, with `logged` changes in the log pointing at snapshots (SQLite)."""
    from watcher.store import create_engine, migrate, write_transaction
    from watcher.store.changes import add_snapshots
    from watcher.store.schema import changes, snapshots
    from watcher.store.schema import sources as sources_table

    document = PageDocument((Line(("Overview",), "text", "Landmines: none since 2011."),))
    now = datetime(2026, 11, 23, tzinfo=UTC)
    ids = [f"s{number:04d}" for number in range(sources)]

    async def run(path: str) -> float:
        engine = create_engine(f"sqlite:///{path}")
        try:
            await migrate(engine)
            async with write_transaction(engine) as connection:
                await connection.execute(
                    sources_table.insert(),
                    [
                        {"id": i, "country": "VN", "url": i, "name": i, "created_at": now}
                        for i in ids
                    ],
                )
                await connection.execute(
                    snapshots.insert(),
                    [
                        {"source_id": i, "taken_at": now, "content_hash": "-", "document": {}}
                        for _ in range(keep)
                        for i in ids
                    ],
                )
                row = {"country": "VN", "detected_at": now, "kind": "page", "summary": "-"}
                await connection.execute(
                    changes.insert(),
                    [
                        {
                            **row,
                            "source_id": ids[n % sources],
                            "data": {},
                            "snapshot_id": n % (sources * keep) + 1,
                        }
                        for n in range(logged)
                    ],
                )
            started = time.perf_counter()
            async with write_transaction(engine) as connection:
                await add_snapshots(connection, [(i, document) for i in ids], now, keep)
            return time.perf_counter() - started
        finally:
            await engine.dispose()

    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(f"{folder}/w.db")), sources


def wait_for_port(port: int) -> None:
    import socket

    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_a_worker(html: str, source: Source, runs: int = 50) -> float:
    """The median time to have a page read by an extraction worker, as a check does: the
    body pickled to the worker, read there, the document pickled back."""
    from watcher.extract.bounded import BoundedPool
    from watcher.extract.kinds import Reading, read_response

    async def measure() -> float:
        pool = BoundedPool(workers=1, memory=512_000_000)
        reading = Reading(html.encode(), "text/html; charset=utf-8", source)
        try:
            await pool.run("extraction", 10, read_response, "page", reading)  # started
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await pool.run("extraction", 10, read_response, "page", reading)
                times.append(time.perf_counter() - started)
        finally:
            await pool.aclose()
        return statistics.median(times)

    return asyncio.run(measure())


def main() -> None:
    data = {
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"url": "https://x.example/p", "select": "#content"}],
            }
        ]
    }
    source = build_config(data, {}, None).sources[0]
    html = page_30kb()
    old, new = big_documents()
    size = sum(len(line.text) + 1 for line in new.lines)
    print("watcher micro figures (median of 5 runs)")
    for label, seconds in example_site_passes().items():
        print(f"  pass over the example site, {label:<16} {seconds * 1000:8.1f} ms")
    seconds = median_seconds(lambda: extract_page(html, source), runs=50)
    print(
        f"  extract a {len(html) / 1000:.0f} KB page                     {seconds * 1000:8.2f} ms"
    )
    bounded = in_a_worker(html, source)
    print(
        f"  the same in an extraction worker (round trip) {bounded * 1000:8.2f} ms"
        f" (+{(bounded - seconds) * 1000:.2f} ms)"
    )
    article = (CORPUS / "article-heavy-navigation" / "semantic.html").read_text()
    main_source = build_config(
        {
            "countries": [
                {
                    "code": "VN",
                    "name": "Vietnam",
                    "sources": [{"url": "https://x.example/a", "content": "main"}],
                }
            ]
        },
        {},
        None,
    ).sources[0]
    extract_page(article, main_source)  # trafilatura's import is not a page's cost
    reading = median_seconds(lambda: extract_page(article, main_source), runs=50)
    print(
        f"  main content of a {len(article) / 1000:.0f} KB article (trafilatura)"
        f" {reading * 1000:8.2f} ms"
    )
    diffing = median_seconds(lambda: diff_pages(old, new))
    print(f"  diff a {size / 1e6:.1f} MB page, every line changed     {diffing * 1000:8.1f} ms")
    pruning, pruned = pruning_with_a_long_log()
    print(
        f"  {pruned} snapshots in, {pruned} pruned, 100,000 changes logged {pruning * 1000:8.1f} ms"
    )
    mailing = thousand_emails()
    composing, delivering = mailing.composed, mailing.delivered
    print(f"  compose 1,000 emails                          {composing:8.2f} s")
    print(f"  deliver them to a local SMTP server ({mailing.sent:,} sent) {delivering:8.2f} s")
    print()
    print(f"{'met   ' if diffing < 0.5 else 'MISSED'} the 2 MB diff < 0.5 s")
    total = composing + delivering
    print(f"{'met   ' if total < 5 else 'MISSED'} 1,000 emails composed and delivered < 5 s")


if __name__ == "__main__":
    main()
