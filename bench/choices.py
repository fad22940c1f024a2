"""Composing for readers with sections and keywords, against readers of whole countries.

    .venv/bin/python bench/choices.py                 # 10,000 readers, 3 runs each
    .venv/bin/python bench/choices.py --readers 2000 --runs 1

The example site's r2 change (Vietnam's profile and news, Lao PDR's updates) for N readers,
on SQLite in this process, composed but not delivered (delivery does not depend on what a
reader chose). Two shapes: every reader follows Vietnam and Lao PDR whole (as before issue
18), and a mix: 40% whole countries, 20% some sections of Vietnam, 20% a section in every
country, 20% keywords (some matching, some not). Per message composed, for each: the time
the r2 pass took to queue the news (each reader's choices weighed against each change) and
the time `compose_pending` took, its rendering and its queueing into the outbox. The target
(issue 18): the mix within 1.5x of the whole-country cost per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from watcher.app import open_app  # noqa: E402
from watcher.check import run_pass  # noqa: E402
from watcher.demo.site import SiteServer  # noqa: E402
from watcher.loading import build_config  # noqa: E402
from watcher.notify.queue import compose_pending  # noqa: E402

DEMO = HERE.parent / "config" / "demo.toml"
KEYWORDS = ["policy", "resolution", "transparency", "cluster munition", "stockpile", "accede"]


def readers(count: int, mixed: bool, rng: random.Random) -> list[dict[str, Any]]:
    found = []
    for n in range(count):
        reader: dict[str, Any] = {"email": f"reader{n}@example.org"}
        shape = rng.random() if mixed else 0.0
        if shape < 0.4:
            reader["countries"] = ["VN", "LA"]
        elif shape < 0.6:
            reader["sections"] = [
                f"VN: {name}"
                for name in rng.sample(["Mine Ban Policy", "Cluster Munition Ban Policy"], 1)
            ]
        elif shape < 0.8:
            name = rng.choice(["Mine Ban Policy", "Cluster Munition Ban Policy"])
            reader["sections"] = [f"*: {name}"]
        else:
            reader["keywords"] = rng.sample(KEYWORDS, 2)
        found.append(reader)
    return found


async def one_run(count: int, mixed: bool, seed: int) -> dict[str, float]:
    with SiteServer() as site, tempfile.TemporaryDirectory() as folder:
        data = tomllib.loads(DEMO.read_text().replace("http://127.0.0.1:8931", site.base_url))
        data["service"]["database"] = f"sqlite:///{folder}/w.db"
        data["mail"] = {"transport": "maildir", "maildir": f"{folder}/mail"}
        data["subscribers"] = readers(count, mixed, random.Random(seed))
        config = build_config(data, {}, Path(folder) / "watcher.toml")
        async with open_app(config) as app:
            await run_pass(app, every=True)
            site.revision = "r2"
            started = time.perf_counter()
            await run_pass(app, every=True)
            queued = time.perf_counter() - started
            started = time.perf_counter()
            messages = await compose_pending(app, settle=timedelta(0))
            composed = time.perf_counter() - started
    return {"messages": messages, "queue (s)": queued, "compose (s)": composed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, Any] = {"readers": args.readers}
    for shape, mixed in (("whole countries", False), ("mixed choices", True)):
        runs = [asyncio.run(one_run(args.readers, mixed, seed)) for seed in range(args.runs)]
        messages = statistics.median(run["messages"] for run in runs)
        queue = statistics.median(run["queue (s)"] for run in runs)
        compose = statistics.median(run["compose (s)"] for run in runs)
        figures[shape] = {
            "messages": messages,
            "queue (s)": round(queue, 2),
            "compose (s)": round(compose, 2),
            "ms a message": round(1000 * (queue + compose) / messages, 3),
        }
    whole, mixed_ = figures["whole countries"], figures["mixed choices"]
    figures["ratio a message"] = round(mixed_["ms a message"] / whole["ms a message"], 2)
    print(json.dumps(figures, indent=1))
    verdict = "met" if figures["ratio a message"] <= 1.5 else "MISSED"
    print(f"{verdict}: mixed choices within 1.5x of whole countries a message")


if __name__ == "__main__":
    main()
