"""The benchmark: watcher against urlwatch 2.29 and the floor, on N generated profile pages
served by nginx, pass by pass. See bench/README.md.

    .venv/bin/python bench/run.py                       # N = 2,000 and 5,000, median of 3 runs
    .venv/bin/python bench/run.py --sizes 200 --runs 1  # the smoke run CI does

Each pass of each tool runs as its own process, started by measure.py; wall time, CPU time
(user + sys) and peak RSS come from wait4(). "resident" is watcher as its service runs it:
one process for all four passes (resident.py), start-up paid once. Passes: 1 the baseline
(rev1); 2 every body differs, nothing inside #content does (rev2); 3 5% of pages changed
inside #content (rev3); 4 nothing changed at all (rev3 again, answered 304 where the tool
asks conditionally).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import changed_pages  # noqa: E402
from webserver import Site  # noqa: E402

OUT = HERE / "out"
VENV = Path(sys.executable).parent
PASSES = ((1, "1 baseline"), (2, "2 bodies differ"), (3, "3 5% changed"), (3, "4 unchanged"))
TOOLS = ("watcher", "urlwatch", "floor", "floor+extract", "resident")
SEED = 42  # of the generated pages


@dataclass
class Figure:
    wall: float
    cpu: float
    rss: float  # MB
    changes: int | None


def run(command: list[str], folder: Path) -> tuple[Figure, str]:
    out, measured = folder / "stdout.txt", folder / "measured.json"
    with out.open("w") as stdout, (folder / "stderr.txt").open("a") as stderr:
        launcher = [sys.executable, str(HERE / "measure.py"), str(measured)]
        subprocess.run([*launcher, *command], stdout=stdout, stderr=stderr, cwd=folder, check=True)
    figures = json.loads(measured.read_text())
    text = out.read_text()
    # Every fetch must succeed: a benchmark that timed errors would measure nothing.
    if figures["status"] != 0 or re.search(r"^(ERROR|failed)", text, re.M):
        raise SystemExit(f"{command[0]} failed:\n{text[-3000:]}\n{stderr_tail(folder)}")
    return Figure(figures["wall"], figures["cpu"], figures["rss_mb"], None), text


def watcher_config(site: Site, folder: Path, database: str | None = None) -> Path:
    """One source per page (`select = "#content"`), 100 to a country; SQLite by default."""
    lines = [
        "[service]",
        f'database = "{database or f"sqlite:///{folder}/watcher.db"}"',
        "[checks]",
        'interval = "6h"',
        "per_host = 32",
        "concurrency = 32",
        "[mail]",
        'transport = "maildir"',
        f'maildir = "{folder}/mail"',
    ]
    for start in range(0, site.count, 100):  # a country per hundred pages
        lines += ["[[countries]]", f'code = "C{start // 100:03d}"', f'name = "Country {start}"']
        for number, url in enumerate(site.urls()[start : start + 100], start):
            lines += [
                "[[countries.sources]]",
                f'id = "p{number:05d}"',
                f'url = "{url}"',
                'select = "#content"',
            ]
    path = folder / "watcher.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def urlwatch_files(site: Site, folder: Path) -> list[str]:
    jobs = "\n---\n".join(
        f'name: p{n:05d}\nurl: "{url}"\nfilter:\n  - css: "#content"\n  - html2text'
        for n, url in enumerate(site.urls())
    )
    (folder / "urls.yaml").write_text(jobs + "\n")
    (folder / "urlwatch.yaml").write_text(
        "display: {new: false, error: true, unchanged: false, empty-diff: false}\n"
        "report:\n"
        "  text: {details: false, footer: false, minimal: true, separate: false, line_length: 75}\n"
        "  stdout: {enabled: true, color: false}\n"
        "  html: {diff: unified, separate: false}\n"
        "  email: {enabled: false}\n"
    )
    return [
        "--urls",
        str(folder / "urls.yaml"),
        "--config",
        str(folder / "urlwatch.yaml"),
        "--cache",
        str(folder / "cache.db"),
    ]


def package_dir() -> Path:
    import watcher

    return Path(watcher.__file__).parent


def urlwatch() -> Path:
    """urlwatch 2.29 in a virtual environment of its own (made once, kept in bench/out)."""
    venv = OUT / "urlwatch-venv"
    if not (venv / "bin" / "urlwatch").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "urlwatch==2.29",
                "html2text",
                "lxml",
                "cssselect",
            ],
            check=True,
        )
    return venv / "bin" / "urlwatch"


def resident_run(site: Site, folder: Path, passes: int) -> list[Figure]:
    """The passes in one watcher process, as `watcher run` makes them (resident.py)."""
    command = [sys.executable, str(HERE / "resident.py"), str(watcher_config(site, folder))]
    figures = []
    with (folder / "stderr.txt").open("a") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=folder,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            if "ready" not in json.loads(process.stdout.readline() or "{}"):
                raise SystemExit(f"resident.py did not start:\n{stderr_tail(folder)}")
            for revision, _ in PASSES[:passes]:
                site.move_to(revision)
                process.stdin.write("pass\n")
                process.stdin.flush()
                line = process.stdout.readline()
                if not line:
                    raise SystemExit(f"resident.py stopped:\n{stderr_tail(folder)}")
                measured = json.loads(line)
                if measured["failed"]:
                    raise SystemExit(f"resident.py: {measured['failed']} checks failed")
                wall, cpu, rss = measured["wall"], measured["cpu"], measured["rss_mb"]
                figures.append(Figure(wall, cpu, rss, measured["changed"]))
        finally:
            process.stdin.close()
            process.wait()
    return figures


def stderr_tail(folder: Path) -> str:
    return (folder / "stderr.txt").read_text()[-3000:]


def one_run(tool: str, site: Site, passes: int) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        folder = Path(scratch)
        if tool == "resident":
            return resident_run(site, folder, passes)
        if tool == "watcher":
            command = [
                str(VENV / "watcher"),
                "--config",
                str(watcher_config(site, folder)),
                "check",
                "--all",
                "--no-send",
            ]
        elif tool == "urlwatch":
            command = [str(urlwatch()), *urlwatch_files(site, folder)]
        else:
            (folder / "urls.txt").write_text("\n".join(site.urls()))
            extract = ["--extract"] if tool == "floor+extract" else []
            command = [sys.executable, str(HERE / "floor.py"), *extract, str(folder / "urls.txt")]
        for revision, _ in PASSES[:passes]:
            site.move_to(revision)
            figure, out = run(command, folder)
            figure.changes = count_changes(tool, out)
            figures.append(figure)
    return figures


def expected_changes(size: int) -> list[int]:
    """The changes a pass must find, pass by pass: only rev3 changes what matters."""
    return [0, 0, len(changed_pages(SEED, size)), 0]


def count_changes(tool: str, out: str) -> int | None:
    if tool == "watcher":
        found = re.search(r"(\d+) changed", out)
        return int(found.group(1)) if found else None
    if tool == "urlwatch":
        return len(re.findall(r"^CHANGED: ", out, re.M))
    return None


def median(figures: list[Figure]) -> Figure:
    changes = {f.changes for f in figures}
    return Figure(
        statistics.median(f.wall for f in figures),
        statistics.median(f.cpu for f in figures),
        statistics.median(f.rss for f in figures),
        changes.pop() if len(changes) == 1 else -1,
    )


def floor_start_up(runs: int) -> float:
    """floor+extract's wall time with no URL to fetch: its imports and its session."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=OUT) as scratch:
            folder = Path(scratch)
            (folder / "urls.txt").write_text("")
            command = [sys.executable, str(HERE / "floor.py"), "--extract", "urls.txt"]
            times.append(run(command, folder)[0].wall)
    return statistics.median(times)


def table(results: dict[tuple[int, str], list[Figure]], sizes: list[int], start: float) -> str:
    """The table; `start` is floor+extract's start-up, taken off its figures where they are
    set against the resident watcher, which started before the pass."""
    rows = [
        "| N | pass | watcher wall / CPU / RSS | urlwatch wall / CPU / RSS | floor | "
        "floor+extract | watcher / urlwatch (wall, CPU) | watcher / floor+extract | "
        "changes found (watcher, urlwatch) | resident watcher wall / CPU "
        "| resident / (floor+extract - its start-up) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        for index, (_, label) in enumerate(PASSES):
            w, u = results[(size, "watcher")][index], results[(size, "urlwatch")][index]
            f, fx = results[(size, "floor")][index], results[(size, "floor+extract")][index]
            r = results[(size, "resident")][index]
            rows.append(
                f"| {size:,} | {label} | {w.wall:.2f} s / {w.cpu:.2f} s / {w.rss:.0f} MB "
                f"| {u.wall:.2f} s / {u.cpu:.2f} s / {u.rss:.0f} MB | {f.wall:.2f} s "
                f"| {fx.wall:.2f} s | {w.wall / u.wall:.2f}, {w.cpu / u.cpu:.2f} "
                f"| {w.wall / fx.wall:.2f} | {w.changes}, {u.changes} "
                f"| {r.wall:.2f} s / {r.cpu:.2f} s | {r.wall / (fx.wall - start):.2f} |"
            )
    return "\n".join(rows)


def verdicts(results: dict[tuple[int, str], list[Figure]], sizes: list[int]) -> list[str]:
    lines = []

    def check(ok: bool, text: str) -> None:
        lines.append(f"{'met   ' if ok else 'MISSED'} {text}")

    for size in sizes:
        w, u = results[(size, "watcher")], results[(size, "urlwatch")]
        fx = results[(size, "floor+extract")]
        expected = expected_changes(size)
        check([f.changes for f in w] == expected, f"N={size}: watcher finds {expected} changes")
        check(w[1].wall <= u[1].wall / 4, f"N={size}: pass 2 wall <= 1/4 of urlwatch's")
        check(w[1].wall <= 1.5 * fx[1].wall, f"N={size}: pass 2 wall <= 1.5x the floor+extract")
        check(w[3].wall <= u[3].wall / 10, f"N={size}: unchanged pass <= 1/10 of urlwatch's wall")
        check(w[2].cpu <= u[2].cpu / 4, f"N={size}: pass 3 CPU <= 1/4 of urlwatch's")
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        w_small, w_big = results[(small, "watcher")], results[(big, "watcher")]
        peak = max(f.rss for f in w_big)
        check(peak <= 120, f"N={big}: peak RSS {peak:.0f} MB <= 120 MB")
        ratio, allowed = w_big[1].wall / w_small[1].wall, 1.08 * big / small
        check(
            ratio <= allowed, f"pass 2 at N={big} takes {ratio:.2f}x N={small} (<= {allowed:.2f}x)"
        )
    return lines


def miscounted(results: dict[tuple[int, str], list[Figure]], sizes: list[int]) -> list[str]:
    """A line for every tool whose changes found differ from those the generator made."""
    wrong = []
    for size in sizes:
        expected = expected_changes(size)
        for tool in ("watcher", "urlwatch", "resident"):
            found = [f.changes for f in results.get((size, tool), [])]
            if found and found != expected:
                wrong.append(f"N={size}: {tool} found {found} changes, expected {expected}")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000", help="page counts (default 2000,5000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median; default 3)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="subset of " + ",".join(TOOLS))
    parser.add_argument("--no-micro", action="store_true", help="skip the micro figures")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    tools = args.tools.split(",")
    OUT.mkdir(exist_ok=True)
    # As an installed wheel would be: byte-compiled (a source checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every start).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package_dir())], check=True)
    results: dict[tuple[int, str], list[Figure]] = {}
    started = time.perf_counter()
    for size in sizes:
        root = Path(tempfile.mkdtemp(dir=OUT, prefix=f"site-{size}-"))
        site = Site(root, size, SEED).start()
        try:
            runs: dict[str, list[list[Figure]]] = {tool: [] for tool in tools}
            for number in range(args.runs):
                for tool in tools:  # interleaved, so that noise spreads over every tool
                    runs[tool].append(one_run(tool, site, len(PASSES)))
                    print(
                        f"N={size} run {number + 1}/{args.runs} {tool}: "
                        + ", ".join(f"{f.wall:.2f}s {f.rss:.0f}MB" for f in runs[tool][-1]),
                        flush=True,
                    )
            for tool in tools:
                results[(size, tool)] = [
                    median([r[i] for r in runs[tool]]) for i in range(len(PASSES))
                ]
        finally:
            site.stop()
            shutil.rmtree(root, ignore_errors=True)
    if set(tools) == set(TOOLS):
        start = floor_start_up(args.runs)
        print("\n" + table(results, sizes, start) + "\n")
        print(f"floor+extract's start-up (no URL to fetch): {start:.2f} s\n")
        print("\n".join(verdicts(results, sizes)))
    wrong = miscounted(results, sizes)
    if wrong:  # timings are for reading; changes found wrongly are a failure
        raise SystemExit("\n".join(wrong))
    if not args.no_micro:
        print()
        import micro

        micro.main()
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
