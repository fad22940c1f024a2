"""How much memory a process tree really uses: the proportional set size (PSS) of this
process's descendants, each shared page counted once among those that share it.

Chromium runs as a dozen processes sharing one large binary, so their RSS added up counts
the same pages a dozen times (~900 MB for an idle browser whose PSS is ~250 MB). The browser
fetcher bounds each page's renderer process by this figure, read from `/proc` (Linux);
elsewhere nothing is found and only the script heap's own limit applies.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")


def descendants(root: int | None = None) -> list[int]:
    """The pids of every process under `root` (this process by default)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def pss_bytes(pid: int) -> int:
    """A process's proportional set size, 0 once it is gone."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def renderers(named: Callable[[str], bool]) -> list[tuple[int, int]]:
    """(pid, PSS in bytes) of this process's descendants whose command name `named` accepts
    and whose command line says `--type=renderer` (Chromium's page processes); empty where
    /proc cannot tell."""
    found = []
    for pid in descendants():
        try:
            name = (PROC / str(pid) / "comm").read_text().strip()
            if not named(name):
                continue
            if b"--type=renderer" not in (PROC / str(pid) / "cmdline").read_bytes():
                continue
        except OSError:
            continue
        found.append((pid, pss_bytes(pid)))
    return found


def lower_priority(named: Callable[[str], bool], nice: int) -> None:
    """Make this process's descendants whose command name `named` accepts `nice` steps nicer
    than this process (best effort: a process gone meanwhile is skipped)."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    for pid in descendants():
        try:
            if named((PROC / str(pid) / "comm").read_text().strip()):
                os.setpriority(os.PRIO_PROCESS, pid, min(base + nice, 19))
        except OSError:
            continue
