"""kill -9 at random moments of a pass: 300 slow pages; before each round another 10% of them
change, and `watcher check` is killed in the middle of its pass; at the end one run is let
finish. Every change is logged exactly once, none is invented, and the database passes
`PRAGMA integrity_check`.

The number of kills is `WATCHER_FAULT_ROUNDS` (5 in CI; the README gives a longer run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.conftest import write_config
from tests.servers import ScriptedServer, reply

ROUNDS = int(os.environ.get("WATCHER_FAULT_ROUNDS", "5"))
PAGES = 300
RESULTS = Path(__file__).parent / "last-run-kill-pass.json"
PER_DATABASE = 10  # rounds on one database: each changes a different 10% of the pages


def changed_in(round_: int) -> set[int]:
    """The 10% of the pages that change before round `round_` of a database: disjoint sets."""
    return {n for n in range(PAGES) if n % PER_DATABASE == round_}


def serve(server: ScriptedServer, changed: dict[int, int]) -> None:
    def route(number: int):  # type: ignore[no-untyped-def]
        def answer(handler: BaseHTTPRequestHandler) -> None:
            time.sleep(0.1)  # slow pages: a pass takes about two seconds
            text = f"revised in round {changed[number]}" if number in changed else "as in 2011"
            paragraphs = "".join(f"<p>Page {number}, paragraph {i}.</p>" for i in range(30))
            body = f"<html><body><h2>Policy</h2><p>Status {text}.</p>{paragraphs}</body></html>"
            reply(handler, 200, body.encode())

        return answer

    for number in range(PAGES):
        server.routes[f"/p{number}.html"] = route(number)


def test_kill_9_during_a_pass_loses_and_invents_nothing(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    rng = random.Random(1414)
    figures = []
    for start in range(0, ROUNDS, PER_DATABASE):
        rounds = min(PER_DATABASE, ROUNDS - start)
        figures.append(kill_rounds(scripted, tmp_path / f"db{start}", rounds, rng))
    RESULTS.write_text(json.dumps({"kills": ROUNDS, "databases": figures}))


def kill_rounds(
    scripted: ScriptedServer, folder: Path, rounds: int, rng: random.Random
) -> dict[str, object]:
    changed: dict[int, int] = {}
    serve(scripted, changed)
    folder.mkdir()
    data = {
        "service": {"database": f"sqlite:///{folder / 'w.db'}"},
        "checks": {"timeout": "10s", "concurrency": 16, "per_host": 16},
        "mail": {"transport": "maildir", "maildir": str(folder / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": f"p{n}", "url": scripted.url(f"/p{n}.html")} for n in range(PAGES)
                ],
            }
        ],
    }
    config = write_config(folder, data)
    command = [sys.executable, "-m", "watcher", "--config", str(config), "check", "--all"]
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0

    kills = []
    expected: set[int] = set()
    for round_ in range(rounds):
        for number in changed_in(round_):
            changed[number] = round_
        expected |= changed_in(round_)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 2.2))  # start-up is ~0.6 s: land inside the pass
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with sqlite3.connect(folder / "w.db") as db:
            kills.append(db.execute("SELECT count(*) FROM changes").fetchone()[0])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    with sqlite3.connect(folder / "w.db") as db:
        logged = db.execute("SELECT source_id, count(*) FROM changes GROUP BY source_id")
        counts = dict(logged.fetchall())
        integrity = db.execute("PRAGMA integrity_check").fetchone()
        claimed = db.execute("SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL")
        left_claimed = claimed.fetchone()[0]
    assert counts == {f"p{n}": 1 for n in expected}  # each exactly once, none invented
    assert integrity == ("ok",)
    assert left_claimed == 0
    # The kills landed in the middle of passes: some of a round's changes were not in yet.
    wanted = [len(changed_in(0)) * (k + 1) for k in range(rounds)]
    assert any(seen < want for seen, want in zip(kills, wanted, strict=True)), kills
    return {"rounds": rounds, "changes_after_each_kill": kills, "changes": len(counts)}
