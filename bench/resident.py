"""watcher as the service runs it: one process that opens the app once and runs pass after
pass, so start-up (imports, configuration, opening the database) is paid once, not per pass.

    python resident.py CONFIG     # then one line on stdin per pass; a JSON line back for each

Each pass is what `watcher check --all --no-send` does after starting: `run_pass` over every
source, then composing the mail it made due. The figures come from inside the process:
wall time and CPU time (user + sys, every thread) of that pass, and the peak RSS so far.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from datetime import timedelta

from watcher.app import open_app
from watcher.check import run_pass
from watcher.loading import load_config
from watcher.notify.queue import compose_pending


def peak_rss_mb() -> float:
    """The process's peak RSS (VmHWM). Not `ru_maxrss`: Linux carries that across exec, so
    it would report the benchmark's own RSS, the parent that started this process."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(config_path: str) -> None:
    # serving=True: the service's extraction workers run below it, as under `watcher run`
    async with open_app(load_config(config_path), serving=True) as app:
        print(json.dumps({"ready": True}), flush=True)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, sys.stdin.readline):
            started, cpu = time.perf_counter(), cpu_seconds()
            result = await run_pass(app, every=True)
            await compose_pending(app, settle=timedelta(0))
            figures = {
                "wall": time.perf_counter() - started,
                "cpu": cpu_seconds() - cpu,
                "rss_mb": peak_rss_mb(),
                "changed": result.counts["changed"],
                "failed": result.counts["failed"],
            }
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
