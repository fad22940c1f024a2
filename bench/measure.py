"""Run one command and write its exit status, wall time, CPU time and peak RSS to a file.

    python measure.py RESULT_FILE COMMAND [ARG ...]

Why a process of its own: Linux carries a process's peak RSS across exec, so a tool started
straight from the benchmark (which holds every generated page in memory) would report the
benchmark's RSS as its own. Started from this small process, it reports only what it used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    result, command = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    figures = {
        "status": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }
    with open(result, "w") as out:
        json.dump(figures, out)


if __name__ == "__main__":
    main()
