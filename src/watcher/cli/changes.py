"""`watcher log`, `watcher show`: what changed, and how (and, for a reviewed country, where
each change's review stands).

The `--json` forms are a stable interface documented in docs/json.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING, Any

from watcher.cli.common import CommandError, app_of, example, parse_since, positive_int
from watcher.cli.output import print_json, table, use_colour
from watcher.text import for_terminal

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.diff import Change
    from watcher.store.changes import ChangeRecord

FORMATS = ("text", "json", "html", "email")


def register(commands: Any) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    log = commands.add_parser(
        "log",
        help="the change log, newest first",
        description="Recorded changes, newest first.",
        epilog=example("watcher log --country VN --since 30d"),
        formatter_class=raw,
    )
    log.add_argument("--country", metavar="CODE", help="only this country")
    log.add_argument("--source", metavar="ID", help="only this source")
    log.add_argument("--since", metavar="DATE", help="e.g. 2026-11-01, or 7d for the last week")
    log.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")
    log.add_argument(
        "--min-significance",
        type=share,
        metavar="SCORE",
        help="only changes whose significance (0 to 1) is this or more, e.g. 0.4",
    )
    log.add_argument("--json", action="store_true", help="machine-readable output")
    log.set_defaults(handler=show_log)

    show = commands.add_parser(
        "show",
        help="one change in full: sections, dates, the marked diff",
        description="One recorded change in full.",
        epilog=example("watcher show 12"),
        formatter_class=raw,
    )
    show.add_argument("change_id", type=positive_int, metavar="CHANGE_ID")
    show.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    show.add_argument(
        "--json", action="store_const", const="json", dest="format", help="same as --format json"
    )
    show.set_defaults(handler=show_change)


async def show_log(args: argparse.Namespace) -> int:
    from watcher.render.json import change_json
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.changes import list_changes

    async with app_of(args) as app:
        zone = app.settings.service.timezone
        since = parse_since(args.since, zone, app.clock()) if args.since else None
        async with read_transaction(app.engine) as connection:
            records = await list_changes(
                connection,
                country=args.country.upper() if args.country else None,
                source_id=args.source,
                since=since,
                limit=args.limit,
                min_significance=args.min_significance,
            )
        if args.json:
            print_json([change_json(record, app.config) for record in records])
            return 0
        if not records:
            print("No changes recorded" + (" for this filter." if _filtered(args) else " yet."))
            return 0
        rows = [
            [
                f"#{r.id}",
                local_time(r.detected_at, zone),
                r.country,
                r.source_id,
                f"{r.significance:.2f}",
                r.summary,
            ]
            for r in records
        ]
        headers = ["CHANGE", "DETECTED", "COUNTRY", "SOURCE", "SIGNIFICANCE", "SUMMARY"]
        if any(record.review for record in records):  # a reviewed country's: its state
            headers.insert(4, "REVIEW")
            for row, record in zip(rows, records, strict=True):
                row.insert(4, record.review or "-")
        table(headers, rows)
        print("\nSee one change in full with: watcher show CHANGE")
        if any(record.review == "waiting" for record in records):
            print("Approve or discard a waiting one with: watcher review approve|discard CHANGE")
    return 0


def _filtered(args: argparse.Namespace) -> bool:
    return bool(args.country or args.source or args.since or args.min_significance is not None)


def share(text: str) -> float:
    """A significance given on the command line: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def significance_line(record: ChangeRecord) -> str:
    """`Significance: 0.58 (2% of the watched text changed; key terms: accede)`."""
    reasons = f" ({'; '.join(record.reasons)})" if record.reasons else ""
    return f"Significance: {record.significance:.2f}{reasons}"


async def show_change(args: argparse.Namespace) -> int:
    from watcher.render.json import change_json
    from watcher.store import read_transaction
    from watcher.store.changes import get_change

    async with app_of(args) as app:
        async with read_transaction(app.engine) as connection:
            record = await get_change(connection, args.change_id)
        if record is None:
            raise CommandError(f"there is no change #{args.change_id} (see 'watcher log')")
        if args.format == "json":
            print_json(change_json(record, app.config, full=True))
        elif args.format in ("email", "html"):
            print(for_terminal(email_preview(record, app, html_only=args.format == "html")))
        else:
            print(change_text(record, app, colour=use_colour(sys.stdout)))
    return 0


def email_preview(record: ChangeRecord, app: App, *, html_only: bool) -> str:
    """The message an "immediate" subscriber of the country gets for this change alone."""
    from watcher.store.subscribers import Subscriber

    reader = Subscriber(
        id=0,
        email="subscriber@example.org",
        frequency="immediate",
        status="active",
        origin="preview",
        token="preview-only-not-a-real-token",  # noqa: S106 (a preview links nowhere real)
        countries=(record.country,),
        created_at=app.clock(),
        confirmed_at=app.clock(),
        hard_bounces=0,
    )
    composed = app.composer.change_message(reader, record.country, [record], app.clock())
    if html_only:
        part = composed.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())
    return composed.as_bytes().decode("ascii", "replace").replace("\r\n", "\n")


def change_text(record: ChangeRecord, app: App, *, colour: bool = False) -> str:
    """The change for a terminal: what the page said is escaped (`for_terminal`) before the
    colours, which are ours, are put in."""
    from watcher.render.times import local_time

    country = app.config.country_name(record.country)
    when = local_time(record.detected_at, app.settings.service.timezone)
    head = [
        f"Change #{record.id} · {country} ({record.country}) · {when}",
        f"Source: {record.source_name} <{record.source_url}> ({record.source_id})",
        significance_line(record),
        *([review_line(record, app)] if record.review else []),
    ]
    return marked_text(head, record.change, colour=colour)


def marked_text(head: list[str], change: Change, *, colour: bool = False) -> str:
    """Lines of our own, then a change's marked body (and, for a page, the legend), for a
    terminal: what the page said is escaped (`for_terminal`) before our colours go in."""
    from watcher.diff import PageChange
    from watcher.render.text import LEGEND, ansi, change_body, plain

    lines = [*head, *change_body(change, paint=_placeholder if colour else plain)]
    if isinstance(change, PageChange):
        lines += ["", LEGEND]
    text = for_terminal("\n".join(lines))
    return _COLOURED.sub(lambda m: ansi(m.group(2), m.group(1)), text) if colour else text


def review_line(record: ChangeRecord, app: App) -> str:
    """Where an editor's review of the change stands, in the words of the web pages."""
    from watcher.render.times import local_time

    if record.review == "waiting":
        return "Review: waiting for an editor (readers are told once it is approved)"
    when = local_time(record.reviewed_at, app.settings.service.timezone)
    note = f": {record.review_note}" if record.review_note else ""
    return f"Review: {record.review} by {record.reviewed_by} on {when}{note}"


# Colours travel through the escaping as private-use characters, and become ANSI after it.
_COLOURED = re.compile("\ue000(added|removed|heading)\ue001(.*?)\ue002", re.S)


def _placeholder(text: str, role: str) -> str:
    return f"\ue000{role}\ue001{text}\ue002"
