"""`watcher outbox`: queued, sent and failed messages, with their last error."""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import app_of, example, positive_int
from watcher.cli.output import print_json, table

STATUSES = ("queued", "sent", "failed", "cancelled")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "outbox",
        help="queued, sent and failed messages with their last error",
        description="The outbox: every email watcher queued, newest first, and what became of it.",
        epilog=example("watcher outbox --status failed"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--status", choices=STATUSES, help="only messages in this state")
    parser.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=show_outbox)


async def show_outbox(args: argparse.Namespace) -> int:
    from watcher.render.json import message_json
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.messages import list_messages, outbox_counts

    async with app_of(args) as app:
        async with read_transaction(app.engine) as connection:
            found = await list_messages(connection, status=args.status, limit=args.limit)
            counts = await outbox_counts(connection)
        if args.json:
            print_json([message_json(message) for message in found])
            return 0
        totals = ", ".join(f"{counts.get(status, 0)} {status}" for status in STATUSES)
        print(f"Outbox: {totals}.")
        zone = app.settings.service.timezone
        rows = [
            [
                str(m.id),
                m.status,
                m.kind,
                m.recipient,
                str(m.attempts),
                local_time(m.sent_at if m.status == "sent" else m.next_attempt_at, zone),
                m.last_error or m.subject,
            ]
            for m in found
        ]
        if rows:
            print()
            table(
                ["ID", "STATUS", "KIND", "TO", "TRIES", "SENT / NEXT", "SUBJECT / LAST ERROR"], rows
            )
    return 0
