"""`watcher history SOURCE`: a source's stored versions; one version's text; any two
compared, as `watcher show` shows a change (the desk's history page and the API's
`/sources/{id}/snapshots` and `/compare` alike, from `watcher/desk/history.py`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from watcher.cli.common import CommandError, app_of, example, positive_int
from watcher.cli.output import print_json, style, table, use_colour
from watcher.text import for_terminal


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "history",
        help="a source's versions; one version's text; any two compared",
        description=(
            "A source's stored versions, newest first. With VERSION, that version's text in"
            " sections; with --compare FROM TO, what changed from one to the other."
        ),
        epilog=example("watcher history vn-profile --compare 12 31"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_id", metavar="SOURCE")
    parser.add_argument("version", nargs="?", type=positive_int, metavar="VERSION")
    parser.add_argument(
        "--compare", nargs=2, type=positive_int, metavar=("FROM", "TO"), help="two versions"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=show_history)


async def show_history(args: argparse.Namespace) -> int:
    from watcher.desk.history import (
        NoSuchVersion,
        compare_versions,
        history,
        line_count,
        version_of,
    )
    from watcher.errors import CheckError
    from watcher.render.json import version_json
    from watcher.render.times import local_time

    async with app_of(args) as app:
        found = await history(app, args.source_id)
        if not found:
            raise CommandError(f"no versions of {args.source_id} are kept (see 'watcher sources')")
        zone = app.settings.service.timezone
        try:
            if args.compare:
                compared = await compare_versions(app, args.source_id, *args.compare)
            elif args.version:
                version = version_of(found, args.version)
        except NoSuchVersion as exc:
            raise CommandError(f"{exc} (see 'watcher history {args.source_id}')") from None
        except CheckError as failure:
            raise CommandError(f"not compared: {failure.reason}", status=1) from None
    if args.compare:
        if args.json:
            change = compared.change.to_json() if compared.change else None
            summary = compared.summary
            print_json(
                {
                    "from": compared.old.id,
                    "to": compared.new.id,
                    "summary": summary,
                    "change": change,
                }
            )
            return 0
        old, new = compared.old, compared.new
        head = [
            f"{args.source_id}: version {old.id} ({local_time(old.taken_at, zone)})"
            f" -> version {new.id} ({local_time(new.taken_at, zone)})",
            f"Summary: {compared.summary}",
        ]
        if compared.change is None:
            print(for_terminal("\n".join(head)))
            return 0
        from watcher.cli.changes import marked_text

        print(marked_text(head, compared.change, colour=use_colour(sys.stdout)))
        return 0
    if args.version:
        if args.json:
            print_json(version_json(version, full=True))
            return 0
        from watcher.extract.preview import sections_of

        out = [f"{args.source_id}: version {version.id} ({local_time(version.taken_at, zone)})"]
        for section in sections_of(version.document):
            out += [
                "",
                style(for_terminal(" > ".join(section.path) or "(before any heading)"), "1"),
            ]
            out += [f"  {for_terminal(line)}" for line in section.lines]
        print("\n".join(out))
        return 0
    if args.json:
        print_json([{**version_json(v, full=False), "lines": line_count(v)} for v in found])
        return 0
    rows = [[str(v.id), local_time(v.taken_at, zone), str(line_count(v))] for v in found]
    table(["VERSION", "TAKEN", "LINES"], rows)
    print(f"\nRead one with: watcher history {args.source_id} VERSION")
    print(f"Compare two with: watcher history {args.source_id} --compare FROM TO")
    return 0
