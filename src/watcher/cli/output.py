"""Terminal output: aligned tables, stable JSON, colour on ttys."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from watcher.text import for_terminal

_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def style(text: str, code: str, stream: TextIO | None = None) -> str:
    return f"\033[{code}m{text}\033[0m" if use_colour(stream or sys.stdout) else text


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], stream: TextIO | None = None
) -> None:
    """Columns padded to their widest cell; the last column is cut to the terminal width."""
    stream = stream or sys.stdout
    if not rows:
        return
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    total = shutil.get_terminal_size((160, 24)).columns if stream.isatty() else 10_000
    lead = sum(widths[:-1]) + 2 * (len(widths) - 1)
    room = max(total - lead, 20)

    rows = [[for_terminal(str(cell)) for cell in row] for row in rows]

    def line(cells: Sequence[str]) -> str:
        padded = [str(cell).ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)]
        last = str(cells[-1])
        if len(last) > room:
            last = last[: room - 1] + "…"
        return "  ".join([*padded, last]).rstrip()

    stream.write(style(line(headers), "1", stream) + "\n")
    for row in rows:
        stream.write(line(row) + "\n")


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """JSON as UTF-8, with the characters a terminal would obey (C1 controls, bidi overrides)
    written as \\u escapes, as JSON itself does for C0 controls."""
    stream = stream or sys.stdout
    text = json.dumps(data, indent=2, ensure_ascii=False)
    stream.write(_TERMINAL_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text))
    stream.write("\n")
