"""Run `watcher` as its own process and measure it: exit status, output, peak RSS.

Peak RSS is the process's own VmHWM, read as it exits: the resource usage a parent gets from
wait4 carries the parent's high-water mark across exec, which would count pytest's memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAUNCH = """
import sys
from watcher.cli import main
try:
    status = main(sys.argv[1:])
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("\\nwatcher-test-peak-kb " + line.split()[1] + "\\n")
sys.exit(status)
"""


@dataclass
class Ran:
    status: int
    out: str
    err: str
    peak_mb: float
    logs: list[dict[str, Any]] = field(default_factory=list)
    config: Path | None = None

    def checks(self) -> dict[str, dict[str, Any]]:
        """The log record of each source's check, by source id."""
        return {r["source"]: r for r in self.logs if r.get("outcome") and r.get("source")}


def watcher(
    config: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> Ran:
    """`watcher --config CONFIG -v ARGS...` with JSON logs on stderr."""
    environment = {**os.environ, "WATCHER_LOG_FORMAT": "json", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "--config", str(config), "-v", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    peak = 0.0
    logs = []
    lines = []
    for line in done.stderr.splitlines():
        if line.startswith("watcher-test-peak-kb "):
            peak = int(line.split()[1]) / 1024
        elif line.startswith("{"):
            try:
                logs.append(json.loads(line))
            except ValueError:
                lines.append(line)
        else:
            lines.append(line)
    return Ran(done.returncode, done.stdout, "\n".join(lines), peak, logs)
