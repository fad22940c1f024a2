"""`watcher noise`: the lines each source learned as noise, and forgetting them.

A page found changed is fetched again `recheck_after` later; lines that differ between the two
fetches (a counter, a clock, a rotating banner) are learned as noise and left out of that
source's documents (`extract/noise.py`). This command shows them and forgets them; a source
whose noise is forgotten takes a fresh baseline at its next check, never a change.
"""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import print_json, style
from watcher.text import for_terminal


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "noise",
        help="the lines sources learned as noise; --forget to forget them",
        description=(
            "The lines of each page that differed between two fetches seconds apart (a"
            " counter, a clock, a rotating banner) and are ignored from then on. --forget"
            " forgets them: the next check of each such source takes a fresh baseline."
        ),
        epilog=example("watcher noise vn-profile\n  watcher noise --forget vn-profile"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("ids", nargs="*", metavar="SOURCE_ID", help="only these sources")
    parser.add_argument(
        "--forget", action="store_true", help="forget the noise of the sources named"
    )
    parser.add_argument("--all", action="store_true", help="with --forget: of every source")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    from watcher.render.json import noise_json
    from watcher.store import read_transaction, write_transaction
    from watcher.store.sources import forget_noise, load_states

    if args.all and not args.forget:
        raise CommandError("--all goes with --forget: watcher noise --forget --all")
    if args.forget and not (args.ids or args.all):
        raise CommandError("name the sources to forget the noise of, or give --all")
    async with app_of(args) as app:
        unknown = [source_id for source_id in args.ids if app.config.source(source_id) is None]
        if unknown:
            raise CommandError(f"unknown source id: {', '.join(unknown)}")
        if args.forget:
            async with write_transaction(app.engine) as connection:
                forgotten = await forget_noise(connection, None if args.all else args.ids)
            if args.json:
                print_json({"forgotten": forgotten})
            elif forgotten:
                print(f"Forgot the noise of {', '.join(forgotten)}.")
                print("Their next check takes a fresh baseline (nobody is told).")
            else:
                print("No noise was learned for those sources.")
            return 0
        async with read_transaction(app.engine) as connection:
            states = await load_states(connection)
        wanted = set(args.ids)
        noisy = [
            noise_json(state)
            for state in states
            if state.volatile and (not wanted or state.id in wanted)
        ]
    if args.json:
        print_json(noisy)
        return 0
    if not noisy:
        print("No source has learned any noise.")
        return 0
    for index, source in enumerate(noisy):
        if index:
            print()
        count = len(source["lines"])
        heading = f"{source['id']}: {count} line{'s' if count != 1 else ''} learned as noise"
        print(style(heading, "1"))
        for line in source["lines"]:
            print(f"  {line['learned_at'][:16].replace('T', ' ')}  {for_terminal(line['example'])}")
    return 0
