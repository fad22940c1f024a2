"""`watcher review`: an editor's queue and decisions from the command line, as on the web.

watcher review list                          the changes waiting, what matters most first
watcher review approve CHANGE [--note TEXT]  its readers are told (the note atop the email)
watcher review discard CHANGE --note TEXT    its readers are never told; the note says why

A decision here is the one the web's queue and the API take (`notify/review.py`): what
readers are told is the difference between what they last heard and what is approved. It is
recorded in the audit log as the person at the command line (`--editor` to name another).
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from watcher.cli.common import CommandError, app_of, example, positive_int
from watcher.cli.output import print_json, table


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "review",
        help="the changes waiting for an editor: list, approve, discard",
        description=(
            "Changes of a reviewed country ([review] all, or a country's review = true) wait"
            " for an editor before their readers are told. Approve or discard them here or on"
            " the web's queue (/review)."
        ),
        epilog=example('watcher review discard 12 --note "a test edit, reverted"'),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="the changes waiting, what matters most first (by significance)"
    )
    listing.add_argument("--country", metavar="CODE", help="only this country")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_waiting)
    for action, words in (
        ("approve", "its readers are told; a note goes atop their email"),
        ("discard", "its readers are never told; the note says why (required)"),
    ):
        decide = actions.add_parser(action, help=words)
        decide.add_argument("change_id", type=positive_int, metavar="CHANGE")
        decide.add_argument("--note", metavar="TEXT", required=action == "discard")
        decide.add_argument("--editor", metavar="NAME", help="who decides (the audit log)")
        decide.set_defaults(handler=decide_change, approve=action == "approve")


async def list_waiting(args: argparse.Namespace) -> int:
    from watcher.render.json import change_json
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.review import held_readers, waiting

    async with app_of(args) as app:
        code = args.country.upper() if args.country else None
        async with read_transaction(app.engine) as connection:
            records = await waiting(connection, country=code)
            readers = await held_readers(connection, [record.id for record in records])
        if args.json:
            print_json([{**change_json(r, app.config), "readers": readers[r.id]} for r in records])
            return 0
        if not records:
            print("No change is waiting for review.")
            return 0
        zone = app.settings.service.timezone
        rows = [
            [
                f"#{r.id}",
                local_time(r.detected_at, zone),
                r.source_id,
                str(readers[r.id]),
                f"{r.significance:.2f}",
                r.summary,
            ]
            for r in records
        ]
        table(["CHANGE", "DETECTED", "SOURCE", "READERS", "SIGNIFICANCE", "SUMMARY"], rows)
        print("\nRead one with: watcher show CHANGE; then: watcher review approve|discard CHANGE")
    return 0


async def decide_change(args: argparse.Namespace) -> int:
    from watcher.notify.review import decide

    note = (args.note or "").strip() or None
    if not args.approve and note is None:
        raise CommandError("say why the change is discarded: --note TEXT")
    editor = args.editor or f"{getpass.getuser()} (command line)"
    async with app_of(args) as app:
        decision = await decide(
            app.engine,
            app.extraction,
            args.change_id,
            approve=args.approve,
            editor=editor,
            note=note,
            now=app.clock(),
            deadline=app.settings.checks.extract_timeout.total_seconds(),
            terms=app.config.key_terms,
        )
        if decision is None:
            raise CommandError(
                f"change #{args.change_id} is not waiting for review"
                " (see 'watcher review list' and 'watcher show CHANGE')"
            )
        print(decision.words())
        if decision.state == "approved" and decision.readers:
            print("Their email goes out with the next 'watcher check' or 'watcher run'.")
    return 0
