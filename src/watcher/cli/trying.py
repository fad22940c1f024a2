"""`watcher try URL`: what a source would keep, before it is added (urlwatch's
--test-filter, for watcher's sections): fetched and read as its check would, nothing
written. The same preview as the API's `POST /api/v1/preview` and the desk's source form.
"""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import print_json, style
from watcher.text import for_terminal


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "try",
        help="what a source would keep: its sections and lines, before it is added",
        description=(
            "Fetch URL and read it as a source with these settings would be read, and print"
            " the sections and lines it keeps, the kind found, the 'Last Updated' date, the"
            " lines exclude and ignore take away, and what was off. Nothing is written."
        ),
        epilog=example(
            "watcher try https://monitor.example/cp/vietnam.html --select '#content'"
            " --exclude '.share' --ignore 'Page viewed \\d+ times'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url")
    parser.add_argument("--kind", help="auto (default), page, feed, json, pdf or sitemap")
    parser.add_argument("--select", metavar="SELECTOR", help="CSS, xpath:..., or jq:...")
    parser.add_argument("--exclude", metavar="SELECTOR", action="append", default=[])
    parser.add_argument("--ignore", metavar="REGEX", action="append", default=[])
    parser.add_argument("--match", metavar="REGEX", help="a feed: only entries matching it")
    parser.add_argument("--key", metavar="FIELD", help="JSON: the field that names list items")
    parser.add_argument("--content", choices=("all", "main"), help="a page without --select")
    parser.add_argument("--fetch", choices=("http", "browser"), help="default: http")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=try_source)


def fields_of(args: argparse.Namespace) -> dict[str, Any]:
    """The source's settings given, as `[[countries.sources]]` keys."""
    fields: dict[str, Any] = {"url": args.url}
    for key in ("kind", "select", "match", "key", "content", "fetch"):
        if getattr(args, key) is not None:
            fields[key] = getattr(args, key)
    for key in ("exclude", "ignore"):
        if getattr(args, key):
            fields[key] = getattr(args, key)
    return fields


async def try_source(args: argparse.Namespace) -> int:
    from watcher.check.preview import preview
    from watcher.config import ConfigError
    from watcher.errors import CheckError
    from watcher.loading import source_from
    from watcher.render.json import preview_json

    async with app_of(args) as app:
        try:
            source = source_from(fields_of(args), app.config)
        except ConfigError as exc:
            raise CommandError("; ".join(exc.problems)) from None
        try:
            found = await preview(app, source)
        except CheckError as failure:  # what its check would record
            raise CommandError(f"{args.url}: {failure.reason}", status=3) from None
    if args.json:
        print_json(preview_json(found))
        return 0
    out = [f"Kind: {found.kind} · Last Updated: {found.last_updated or '(none found)'}"]
    lines = found.line_count
    out.append(f"{lines} line{'s' if lines != 1 else ''} in {len(found.sections)} sections:")
    for section in found.sections:
        heading = " > ".join(section.path) or "(before any heading)"
        out.append("")
        out.append(style(for_terminal(heading), "1"))  # bold on a terminal
        out += [f"  {for_terminal(line)}" for line in section.lines]
    if found.removed:
        out += ["", f"Taken away by exclude and ignore ({len(found.removed)} lines):"]
        out += [f"  - {for_terminal(line)}" for line in found.removed]
    for warning in found.warnings:
        out.append(f"\nWarning: {for_terminal(warning)}")
    print("\n".join(out))
    return 0
