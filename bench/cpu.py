"""A CPU-bound pass: 2,000 pages of ~200 KB, read by one and by two extraction workers.

    .venv/bin/python bench/cpu.py [--pages 2000] [--runs 3]

The pages are the benchmark's country profiles, eight of them in one page's `#content`
(~200 KB each), served by nginx as in `run.py`. For each worker count, alternated `--runs`
times in one sitting, one process opens a fresh SQLite database and runs two passes over
every page, as `watcher run` makes them: the baseline (every page read and stored) and a
pass where every body differs and nothing that matters does (every page read again; none
stored). Wall time of each pass, median over the runs, and the speed-up of two workers;
beside it where the CPU went in each pass: watcher's own process (of which its event loop's
thread; the rest is mostly the SQLite thread), the extraction workers, and nginx (the
bench's, in this process tree too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from generate import content  # noqa: E402
from webserver import BASE_TIME, Site  # noqa: E402

OUT = HERE / "out"
PIECES = 8  # country profiles in one page
TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_part() -> dict[str, float]:
    """CPU seconds so far of this process, and of its descendants by what they are."""
    from watcher.fetch.footprint import PROC, descendants

    usage = resource.getrusage(resource.RUSAGE_SELF)
    parts = {"watcher": usage.ru_utime + usage.ru_stime, "its event loop": 0.0}
    parts |= {"workers": 0.0, "nginx": 0.0}
    loop = PROC / "self" / "task" / str(os.getpid()) / "stat"  # the main thread's
    fields = loop.read_text().rsplit(")", 1)[1].split()
    parts["its event loop"] = (int(fields[11]) + int(fields[12])) / TICK
    for pid in descendants():
        try:
            fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            name = (PROC / str(pid) / "comm").read_text().strip()
        except OSError:
            continue
        part = "nginx" if name.startswith("nginx") else "workers"
        parts[part] += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return parts


def spent(before: dict[str, float]) -> dict[str, float]:
    return {part: seconds - before[part] for part, seconds in cpu_by_part().items()}


def big_page(number: int, revision: int) -> str:
    inner = "\n".join(content(42, number * PIECES + k, changed=False) for k in range(PIECES))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Profile</title></head><body>"
        f"<div id='content'>{inner}</div><div id='footer'>revision {revision}</div>"
        "</body></html>"
    )


class BigSite(Site):
    def move_to(self, revision: int) -> None:
        stamp = BASE_TIME + revision * 1000
        for number in range(self.count):
            path = self.root / "www" / "p" / f"{number:05d}.html"
            path.write_text(big_page(number, revision))
            os.utime(path, (stamp, stamp))
        self.revision = revision


def config(site: Site, folder: Path, workers: int) -> Path:
    per_country = 100
    countries = []
    for start in range(0, site.count, per_country):
        urls = site.urls()[start : start + per_country]
        sources = "\n".join(
            f'[[countries.sources]]\nid = "p{start + i:05d}"\nurl = "{url}"\nselect = "#content"'
            for i, url in enumerate(urls)
        )
        countries.append(
            f'[[countries]]\ncode = "C{start // per_country:03d}"\n'
            f'name = "Country {start}"\n{sources}'
        )
    text = f"""[service]
database = "sqlite:///{folder / "w.db"}"
[checks]
per_host = 32
concurrency = 32
max_bytes = "2MB"
extract_workers = {workers}
[mail]
transport = "maildir"
maildir = "{folder / "mail"}"
""" + "\n".join(countries)
    path = folder / "watcher.toml"
    path.write_text(text)
    return path


async def passes(site: BigSite, config_path: Path) -> tuple[float, float, dict[str, float]]:
    from watcher.app import open_app
    from watcher.check import run_pass
    from watcher.loading import load_config

    site.move_to(1)
    async with open_app(load_config(config_path)) as app:
        app.extraction.warm()
        await asyncio.sleep(2)  # the workers started, as in a service that ran a pass before
        started, cpu = time.perf_counter(), cpu_by_part()
        first = await run_pass(app, every=True)
        baseline = time.perf_counter() - started
        baseline_cpu = spent(cpu)
        site.move_to(2)
        started = time.perf_counter()
        second = await run_pass(app, every=True)
        differ = time.perf_counter() - started
    for result in (first, second):
        if result.counts["failed"]:
            raise SystemExit(f"{result.counts['failed']} checks failed: {result.failed[0]}")
    return baseline, differ, baseline_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    figures: dict[int, list[tuple[float, float, dict[str, float]]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        Path(scratch).chmod(0o755)  # nginx's worker is not root
        site = BigSite(Path(scratch) / "site", args.pages).start()
        try:
            site.move_to(1)
            size = (site.root / "www" / "p" / "00000.html").stat().st_size
            print(f"{args.pages} pages of ~{size / 1000:.0f} KB")
            for run in range(args.runs):
                for workers in (1, 2):
                    folder = Path(scratch) / f"run{run}-{workers}"
                    folder.mkdir()
                    figure = asyncio.run(passes(site, config(site, folder, workers)))
                    figures[workers].append(figure)
                    cpu = ", ".join(f"{k} {v:.2f} s" for k, v in figure[2].items())
                    print(
                        f"  run {run + 1}, {workers} worker(s): baseline {figure[0]:.2f} s"
                        f" (CPU: {cpu}), bodies differ {figure[1]:.2f} s",
                        flush=True,
                    )
                    shutil.rmtree(folder)
        finally:
            site.stop()
    for index, name in ((0, "baseline"), (1, "bodies differ")):
        one = statistics.median(f[index] for f in figures[1])
        two = statistics.median(f[index] for f in figures[2])
        print(f"{name}: 1 worker {one:.2f} s, 2 workers {two:.2f} s: {one / two:.2f}x")


if __name__ == "__main__":
    main()
