"""Commits side by side in one sitting: the one-shot pass 2 of each, alternated round by round.

    .venv/bin/python bench/commits.py 92417a3 HEAD~1 HEAD          # N = 2,000, 4 rounds
    .venv/bin/python bench/commits.py HEAD . --size 500 --rounds 2     # "." the working tree

A change to the check path is measured against the commit before it in the same sitting:
this machine's speed drifts by a third from one session to the next, so figures from
different sittings do not compare. Each commit is checked out into a worktree of its own
(bench/out/commits) and run from its `src/` with this virtual environment's packages. Each
commit takes its baseline (rev1) once into a database of its own, kept; every round then
restores that database and times the same pass 2 (rev2: every body differs, nothing inside
`#content` does) of `watcher check --all --no-send`, one commit after the other.

A second run of each round, with the JSON log at INFO, gives the timeline: start-up (process
start to the first check's record), the checks (first record to last) and the exit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import SEED, watcher_config  # noqa: E402
from webserver import Site  # noqa: E402

OUT = HERE / "out" / "commits"
REPO = HERE.parent


def worktree(commit: str) -> tuple[str, Path]:
    if commit == ".":  # the working tree, as it is
        return "working", REPO
    sha = subprocess.run(
        ["git", "rev-parse", "--short=9", commit],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = OUT / sha
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(path), sha],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(path / "src")], check=True)
    return sha, path


def watcher(tree: Path, config: Path, folder: Path, *, timeline: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), WATCHER_LOG_FORMAT="json")
    verbose = ["-v"] if timeline else []
    command = [sys.executable, "-m", "watcher", "--config", str(config), *verbose, "check"]
    command += ["--all", "--no-send"]
    started_at = time.time()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    ended_at = started_at + wall
    failed = re.search(r"(\d+) failed", done.stdout)
    if done.returncode != 0 or not failed or failed.group(1) != "0":
        raise SystemExit(f"{tree.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    figures = {"wall": wall}
    if timeline:
        times = []
        for line in done.stderr.splitlines():
            if line.startswith("{") and '"outcome"' in line:
                times.append(datetime.fromisoformat(json.loads(line)["time"]).timestamp())
        figures |= {
            "start-up": min(times) - started_at,
            "checks": max(times) - min(times),
            "exit": ended_at - max(times),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    trees = [worktree(commit) for commit in args.commits]
    site_root = OUT / "site"
    shutil.rmtree(site_root, ignore_errors=True)
    site = Site(site_root, args.size, SEED).start()
    results: dict[str, dict[str, list[float]]] = {sha: {} for sha, _ in trees}
    try:
        site.move_to(1)
        folders = {}
        for sha, tree in trees:
            folder = OUT / f"run-{sha}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            config = watcher_config(site, folder)
            watcher(tree, config, folder, timeline=False)  # the baseline
            shutil.copy(folder / "watcher.db", folder / "baseline.db")
            folders[sha] = (tree, config, folder)
        site.move_to(2)
        for round_ in range(1, args.rounds + 1):
            for sha, (tree, config, folder) in folders.items():
                for timeline in (False, True):
                    shutil.copy(folder / "baseline.db", folder / "watcher.db")
                    for name, value in watcher(tree, config, folder, timeline=timeline).items():
                        key = f"{name} (-v)" if timeline and name == "wall" else name
                        results[sha].setdefault(key, []).append(value)
            print(
                f"round {round_}: "
                + "  ".join(
                    f"{sha} {figures['wall'][-1]:.2f} s" for sha, figures in results.items()
                ),
                flush=True,
            )
    finally:
        site.stop()
    names = list(next(iter(results.values())))
    print("\n| median of rounds | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for sha, figures in results.items():
        cells = [f"{statistics.median(figures[name]):.2f} s" for name in names]
        print(f"| {sha} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
