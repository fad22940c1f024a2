"""The bounded place for extraction (`extract/bounded.py`): real worker processes, each task
within its deadline and the pool's memory ceiling; a worker past either, or one that dies,
is replaced and the next task runs; the event loop never waits for a task."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from watcher.errors import CheckError
from watcher.extract.bounded import BoundedPool, Overrun
from watcher.extract.errors import ExtractError

MB = 1_000_000


def spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def hoard(megabytes: int) -> int:
    kept = [bytearray(MB) for _ in range(megabytes)]
    return len(kept)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def refuse() -> None:
    raise ExtractError("not valid JSON: Expecting value")


def surprise() -> None:
    raise KeyError("nobody expected this")


def pid() -> int:
    return os.getpid()


@pytest.fixture
async def pool() -> BoundedPool:
    made = BoundedPool(workers=2, memory=100 * MB)
    yield made
    await made.aclose()


async def test_a_task_past_its_deadline_is_stopped_and_its_worker_replaced() -> None:
    one = BoundedPool(workers=1, memory=100 * MB)
    try:
        first = await one.run("extraction", 5, pid)
        started = time.monotonic()
        with pytest.raises(Overrun, match=r"^extraction took longer than 0\.5 s$"):
            await one.run("extraction", 0.5, spin, 30)
        assert time.monotonic() - started < 2.5
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)  # killed and reaped
        assert await one.run("extraction", 5, pid) != first
    finally:
        await one.aclose()


async def test_the_event_loop_goes_on_while_a_task_runs(pool: BoundedPool) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await pool.run("extraction", 5, spin, 1.0)
    ticker.cancel()
    assert ticks >= 15  # ~20 in the second the task ran elsewhere


async def test_a_task_past_the_memory_ceiling_fails_saying_so(pool: BoundedPool) -> None:
    assert await pool.run("extraction", 10, hoard, 20) == 20
    with pytest.raises(Overrun, match=r"^extraction needed more than 100 MB$"):
        await pool.run("extraction", 10, hoard, 300)
    assert await pool.run("extraction", 10, hoard, 20) == 20


async def test_a_worker_that_dies_is_a_reason_and_is_replaced(pool: BoundedPool) -> None:
    with pytest.raises(Overrun, match=r"its worker process died \(signal SIGKILL"):
        await pool.run("extraction", 5, die)
    assert await pool.run("extraction", 5, spin, 0) == "done"


async def test_what_a_task_raises_comes_back_as_it_was(pool: BoundedPool) -> None:
    with pytest.raises(ExtractError) as refused:
        await pool.run("extraction", 5, refuse)
    assert isinstance(refused.value, CheckError)
    assert refused.value.reason == "not valid JSON: Expecting value"
    with pytest.raises(KeyError, match="nobody expected this") as raised:
        await pool.run("extraction", 5, surprise)
    assert "Traceback" in str(raised.value.__cause__)  # the worker's, for the log


async def test_tasks_run_side_by_side_in_at_most_workers_processes(pool: BoundedPool) -> None:
    pool.warm()
    await asyncio.gather(*(pool.run("extraction", 30, spin, 0.2) for _ in range(2)))  # started
    started = time.monotonic()
    results = await asyncio.gather(*(pool.run("extraction", 5, spin, 0.5) for _ in range(4)))
    assert results == ["done"] * 4
    assert time.monotonic() - started < 1.9  # two at a time: ~1 s, not 2
    pids = set(await asyncio.gather(*(pool.run("extraction", 5, pid) for _ in range(8))))
    assert len(pids) <= 2


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


async def test_workers_run_below_a_service_and_level_with_a_one_shot_command() -> None:
    """Under `watcher run` the workers yield to the service's web pages and scheduler
    (`SERVICE_NICE`); a one-shot `watcher check` has nothing to put first, and workers
    below it would only wait (its pass 2 ran ~10% slower at niceness 10)."""
    from watcher.app import App
    from watcher.extract.bounded import SERVICE_NICE

    own = niceness()
    for serving, expected in ((False, own), (True, min(own + SERVICE_NICE, 19))):
        app = App(config=None, engine=None, serving=serving)  # type: ignore[arg-type]
        pool = BoundedPool(workers=1, memory=100 * MB, nice=app.extraction_nice)
        try:
            assert await pool.run("extraction", 5, niceness) == expected
        finally:
            await pool.aclose()


def test_the_workers_server_preloads_what_reading_imports() -> None:
    """The kinds' modules import what reads their documents only when they read; the
    workers' server must import it before it forks (`PRELOAD`), or every new worker pays
    for lxml, feedparser, the charsets and pypdf on its first reading (a pass's start)."""
    program = """
import sys
from watcher.extract.bounded import PRELOAD
for name in PRELOAD[1:]:
    __import__(name)
from tests import pdfs
from tests.configs import source
from tests.samples import VIETNAM
from watcher.extract.kinds import Reading, read_response
feed = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b'<item><title>a</title><link>https://x.example/a</link></item></channel></rss>'
)
readings = [
    ("page", Reading(VIETNAM, "text/html", source(select="#content"))),
    ("feed", Reading(feed, "application/rss+xml", source())),
    ("json", Reading(b'{"a": [1, 2]}', "application/json", source(select="jq:.a"))),
    ("pdf", Reading(pdfs.report(), "application/pdf", source())),
]
before = set(sys.modules)
for kind, reading in readings:
    read_response(kind, reading)
print(sorted(set(sys.modules) - before))
"""
    found = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    imported = eval(found.stdout.strip().splitlines()[-1])  # a list of module names
    heavy = ("watcher", "lxml", "cssselect", "pypdf", "jq", "webencodings", "charset_normalizer")
    assert [name for name in imported if name.split(".")[0] in heavy] == [], imported
    assert "feedparser" in imported  # left to a worker's first feed, on purpose
