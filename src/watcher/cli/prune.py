"""`watcher prune`: drop what is older than `[retention]` says, as the service does daily."""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import app_of, example


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "prune",
        help="drop old message bodies, changes and snapshots ([retention])",
        description=(
            "Drop what [retention] says is old enough: the bodies of mail done with, and"
            " changes with their notifications and snapshots (never a source's latest"
            " snapshot, never news a reader still waits for). The service does this once a"
            " day at retention.hour."
        ),
        epilog=example("watcher prune"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=prune)


async def prune(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from watcher.cli.output import print_json
    from watcher.store.retention import prune as run_prune

    async with app_of(args) as app:
        retention = app.settings.retention
        pruned = await run_prune(
            app.engine,
            now=app.clock(),
            message_bodies=retention.message_bodies,
            changes_after=retention.changes,
        )
    if args.json:
        print_json(asdict(pruned))
    else:
        print(f"Pruned: {pruned}.")
    return 0
