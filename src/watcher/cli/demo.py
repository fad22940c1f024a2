"""`watcher demo`: the whole loop on the bundled example site, offline."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from watcher.cli.common import example, positive_int

WEB_PORT = 8080


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="the whole loop on a bundled example site, no network needed",
        description="Serve the bundled example site, watch it with the real service, move it "
        "from r1 to r2 to r3, and show what changed and the emails it causes. Needs no "
        "configuration file.",
        epilog=example("watcher demo --once --dir /tmp/demo"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="run the three revisions as three passes, no web server, then exit",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="PATH",
        help="where the database and the emails go (default: a new temp folder)",
    )
    parser.add_argument(
        "--port",
        type=positive_int,
        default=WEB_PORT,
        help=f"web port (default {WEB_PORT}, or any free one)",
    )
    parser.add_argument(
        "--step",
        type=positive_int,
        default=20,
        metavar="SECONDS",
        help="how long each revision stays before the next (default 20)",
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    from watcher.demo.run import demo_live, demo_once

    folder = args.dir or Path(tempfile.mkdtemp(prefix="watcher-demo-"))
    if args.verbose == 0:  # the demo tells its own story; service logs would drown it
        logging.getLogger("watcher").setLevel(logging.WARNING)
    if args.once:
        return await demo_once(folder)
    return await demo_live(folder, step=args.step, port=args.port)
