"""`watcher sources`: every source with its state; `watcher sources add|edit|pause|resume|
remove` for the desk's sources (the file's are edited in the file), as the desk's pages and
the API do it (`watcher/desk/sources.py`). `watcher check ID` rechecks one now.

The `--json` form of the list is a stable interface documented in docs/json.md.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import print_json, style, table
from watcher.config import Config
from watcher.extract.noise import Noise

if TYPE_CHECKING:
    from watcher.store.sources import SourceState

WHO = "command line"  # the audit log's "who" for what this command does


def register(commands: Any) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    sources = commands.add_parser(
        "sources",
        help="every source with its last check and status; add, edit or remove desk sources",
        description=(
            "Every source, the configuration file's and the desk's: country, status, last"
            " check, last change, next check. With an action, add, edit, pause, resume or"
            " remove a source of the desk's (the file's are edited in the file)."
        ),
        epilog=example(
            "watcher sources add https://monitor.example/cp/laos.html --country LA"
            " --select '#content'\n  watcher sources --json | jq '.[] | select(.status =="
            ' "failing")\''
        ),
        formatter_class=raw,
    )
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.set_defaults(handler=show_sources)
    actions = sources.add_subparsers(dest="action", metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="add a source on the desk (checked at once)",
        description="Add a source on the desk, checked by the rules the file's sources are.",
        epilog=example("watcher sources add URL --country KH --country-name Cambodia"),
        formatter_class=raw,
    )
    add.add_argument("url")
    add.add_argument("--country", required=True, metavar="CODE", help="a configured code")
    add.add_argument("--country-name", metavar="NAME", help="for a country the file lacks")
    add.add_argument("--id", metavar="ID", help="default: derived from country and URL")
    _settings_options(add)
    add.set_defaults(handler=add_source)

    edit = actions.add_parser(
        "edit",
        help="change a desk source's settings",
        description="Change a desk source: the settings given replace its own; --unset"
        " puts one back to its default. Changed settings are checked at once.",
        epilog=example("watcher sources edit kh-cambodia-3f2a1c --select '#main' --unset name"),
        formatter_class=raw,
    )
    edit.add_argument("source_id", metavar="ID")
    edit.add_argument("--url")
    edit.add_argument("--country", metavar="CODE")
    edit.add_argument("--country-name", metavar="NAME")
    edit.add_argument(
        "--unset", metavar="SETTING", action="append", default=[], help="back to its default"
    )
    _settings_options(edit)
    edit.set_defaults(handler=edit_source)

    for name, helped in (
        ("pause", "stop checking a desk source (kept, with its history)"),
        ("resume", "check a paused desk source again"),
        ("remove", "remove a desk source (its changes stay readable)"),
    ):
        action = actions.add_parser(name, help=helped, description=helped[0].upper() + helped[1:])
        action.add_argument("source_id", metavar="ID")
        action.set_defaults(handler=toggle_source, verb=name)


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="shown to readers (default: the country and URL)")
    parser.add_argument("--kind", help="auto (default), page, feed, json, pdf or sitemap")
    parser.add_argument("--select", metavar="SELECTOR", help="CSS, xpath:..., or jq:...")
    parser.add_argument("--exclude", metavar="SELECTOR", action="append")
    parser.add_argument("--ignore", metavar="REGEX", action="append")
    parser.add_argument("--match", metavar="REGEX", help="a feed: only entries matching it")
    parser.add_argument("--key", metavar="FIELD", help="JSON: the field that names list items")
    parser.add_argument(
        "--documents",
        metavar="PATTERN",
        nargs="?",
        const=True,
        help="a page: follow the documents it links to (PDFs; or links matching PATTERN)",
    )
    parser.add_argument(
        "--max-documents", metavar="N", type=int, help="a page: at most N linked documents"
    )
    parser.add_argument("--content", choices=("all", "main"), help="a page without --select")
    parser.add_argument("--fetch", choices=("http", "browser"), help="default: http")
    parser.add_argument("--interval", metavar="DURATION", help="e.g. 6h (default: [checks])")
    parser.add_argument("--cron", metavar="EXPRESSION", help="instead of --interval")


SETTINGS = (
    "url",
    "name",
    "kind",
    "select",
    "exclude",
    "ignore",
    "match",
    "key",
    "documents",
    "max_documents",
    "content",
    "fetch",
)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    keys = (*SETTINGS, "interval", "cron")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def _refused(exc: Exception) -> CommandError:
    from watcher.config import ConfigError

    if isinstance(exc, ConfigError):
        return CommandError("; ".join(exc.problems))
    return CommandError(str(exc))


async def add_source(args: argparse.Namespace) -> int:
    from watcher.config import ConfigError
    from watcher.desk.errors import DeskError
    from watcher.desk.sources import add_source

    async with app_of(args) as app:
        try:
            source = await add_source(
                app,
                _given(args),
                country=args.country,
                country_name=args.country_name,
                source_id=args.id,
                by=WHO,
            )
        except (ConfigError, DeskError) as exc:
            raise _refused(exc) from None
    print(f"Added {source.id} ({source.name}); the running service checks it within a minute.")
    print(f"Check it now with: watcher check {source.id}")
    return 0


async def edit_source(args: argparse.Namespace) -> int:
    from watcher.config import ConfigError
    from watcher.desk.errors import DeskError
    from watcher.desk.sources import SETTINGS as DESK
    from watcher.desk.sources import edit_source

    changes = _given(args)
    for key in ("country", "country_name"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    for key in args.unset:
        if key not in DESK:
            raise CommandError(f"--unset {key}: not a setting (one of {', '.join(DESK)})")
        changes[key] = None
    if not changes:
        raise CommandError("nothing to change: give a setting, or --unset one")
    async with app_of(args) as app:
        try:
            source = await edit_source(app, args.source_id, changes, by=WHO)
        except (ConfigError, DeskError) as exc:
            raise _refused(exc) from None
    print(f"Edited {source.id} ({source.name}).")
    return 0


async def toggle_source(args: argparse.Namespace) -> int:
    from watcher.desk.errors import DeskError
    from watcher.desk.sources import edit_source, remove_source

    async with app_of(args) as app:
        try:
            if args.verb == "remove":
                await remove_source(app, args.source_id, by=WHO)
            else:
                await edit_source(app, args.source_id, {"paused": args.verb == "pause"}, by=WHO)
        except DeskError as exc:
            raise _refused(exc) from None
    done = {"pause": "paused", "resume": "resumed", "remove": "removed (its changes stay)"}
    print(f"{args.source_id} is {done[args.verb]}.")
    return 0


async def show_sources(args: argparse.Namespace) -> int:
    from watcher.render.json import source_json
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.sources import load_states

    async with app_of(args) as app:
        async with read_transaction(app.engine) as connection:
            states = await load_states(connection, active_only=False)
        states = [state for state in states if app.config.source(state.id) is not None]
        if args.json:
            print_json([source_json(state, app.config) for state in states])
            return 0
        if not states:
            print("No sources are configured.")
            return 0
        zone = app.settings.service.timezone
        rows = [
            [
                state.id,
                state.country,
                state.kind or "?",
                _status(state, state.id in app.config.paused),
                _origin(app.config, state.id),
                local_time(state.last_checked_at, zone),
                local_time(state.last_change_at, zone),
                local_time(state.next_check_at, zone) if state.active else "-",
                _problem(state),
            ]
            for state in states
        ]
        headers = [
            "ID",
            "COUNTRY",
            "KIND",
            "STATUS",
            "ORIGIN",
            "LAST CHECK",
            "LAST CHANGE",
            "NEXT CHECK",
            "URL / LAST ERROR OR WARNING",
        ]
        table(headers, rows)
    return 0


def _problem(state: SourceState) -> str:
    if state.status == "failing":
        return state.last_error or "failing"
    if state.last_warning:
        return f"warning: {state.last_warning}"
    learned = len(Noise.from_json(state.volatile).lines)
    if learned:  # `watcher noise` lists them
        return f"{state.url} [{learned} line{'s' if learned != 1 else ''} learned as noise]"
    return state.url


def _status(state: SourceState, paused: bool) -> str:
    if paused:
        return style("paused", "33")
    if state.status == "failing":
        return style(f"failing ({state.failures})", "31")
    if state.status == "ok" and state.last_warning:
        return style("ok, warning", "33")
    return {"new": "not checked"}.get(state.status, state.status)


def _origin(config: Config, source_id: str) -> str:
    """Who owns the source's settings: "config", "desk", or "linked from PAGE"."""
    source = config.source(source_id)
    if source is not None and source.found_on:
        return f"linked from {source.found_on}"
    return config.origin(source_id)
