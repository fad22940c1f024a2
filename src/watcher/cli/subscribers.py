"""`watcher subscribe`, `watcher unsubscribe`, `watcher subscribers`: an operator's view;
`watcher subscribers import|export|mail` for the list as CSV and one reader's mail
(`watcher/desk/readers.py`, as the desk's pages and the API do it).

Subscriptions added with `watcher subscribe` are confirmed at once: the operator vouches for
the address. An import asks each address to confirm, unless `--consent` says they agreed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import print_json, table
from watcher.config.model import FREQUENCIES
from watcher.text import for_terminal

if TYPE_CHECKING:
    from watcher.app import App


def register(commands: Any) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    add = commands.add_parser(
        "subscribe",
        help="add a confirmed subscription (operator)",
        description=(
            "Subscribe an address to countries ('*' for all), to sections of a country's"
            " pages or of every country's, and to keywords; confirmed at once. Added to what"
            " the address already follows."
        ),
        epilog=example(
            "watcher subscribe desk@example.org VN LA --frequency daily\n"
            "  watcher subscribe ban@example.org --section '*: Cluster Munition Ban Policy'"
            " --keyword accede"
        ),
        formatter_class=raw,
    )
    add.add_argument("email")
    add.add_argument("countries", nargs="*", metavar="CODE", help="countries followed whole")
    add.add_argument(
        "--section",
        action="append",
        default=[],
        metavar="'CODE: NAME'",
        help="a section of a country's pages ('*: NAME' for every country); repeatable",
    )
    add.add_argument("--keyword", action="append", default=[], help="a word or phrase; repeatable")
    add.add_argument(
        "--no-news",
        action="store_true",
        help="with --section of a country: only the sections, not the country's news (which"
        " comes with its sections by default)",
    )
    add.add_argument(
        "--notable",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only the notable changes (significance at least significance.notable), or with"
        " --no-notable every change; left as it was when not given (new readers: every change)",
    )
    add.add_argument("--frequency", choices=FREQUENCIES, help="default: immediate for new ones")
    add.set_defaults(handler=add_subscription)

    remove = commands.add_parser(
        "unsubscribe",
        help="stop some countries, or all mail, for an address",
        description="Unsubscribe an address from the named countries, or from everything.",
        epilog=example("watcher unsubscribe desk@example.org LA"),
        formatter_class=raw,
    )
    remove.add_argument("email")
    remove.add_argument("countries", nargs="*", metavar="CODE")
    remove.set_defaults(handler=remove_subscription)

    show = commands.add_parser(
        "subscribers",
        help="list active subscribers",
        description="Active subscribers with their countries and frequency.",
        epilog=example("watcher subscribers --all --json"),
        formatter_class=raw,
    )
    show.add_argument("--all", action="store_true", help="include unsubscribed and suspended")
    show.add_argument("--search", metavar="TEXT", help="only addresses holding TEXT (any case)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=show_subscribers)
    actions = show.add_subparsers(dest="action", metavar="ACTION")
    imported = actions.add_parser(
        "import",
        help="subscribe the readers of a CSV file (each asked to confirm, unless --consent)",
        description=(
            "Subscribe the readers of a CSV file whose first line names the columns: email,"
            " and countries, sections, keywords, news_off (';' between items) and frequency;"
            " other columns are left aside, so an export reads back. Each address gets the"
            " confirmation email the subscribe form sends, unless --consent states the readers"
            " agreed. A row written wrong is refused with its line; the others are imported."
        ),
        epilog=example("watcher subscribers import readers.csv"),
        formatter_class=raw,
    )
    imported.add_argument("file", metavar="FILE", help="a CSV file, or - for standard input")
    imported.add_argument(
        "--consent",
        action="store_true",
        help="the readers agreed: subscribed at once, no confirmation email",
    )
    imported.set_defaults(handler=import_readers)
    exported = actions.add_parser(
        "export",
        help="every subscriber as CSV on standard output",
        description="Every subscriber (unsubscribed too) as CSV, the columns an import reads.",
        epilog=example("watcher subscribers export > readers.csv"),
        formatter_class=raw,
    )
    exported.set_defaults(handler=export_readers)
    mail = actions.add_parser(
        "mail",
        help="one reader's mail, newest first",
        description="The messages queued for one reader: sent, failed, queued, cancelled.",
        epilog=example("watcher subscribers mail desk@example.org"),
        formatter_class=raw,
    )
    mail.add_argument("email")
    mail.add_argument("--json", action="store_true", help="machine-readable output")
    mail.set_defaults(handler=reader_mail)


async def import_readers(args: argparse.Namespace) -> int:
    import sys

    from watcher.desk.readers import import_csv

    try:  # read before the app opens: nothing else runs yet
        raw = sys.stdin.buffer.read() if args.file == "-" else _read(args.file)
    except OSError as exc:
        raise CommandError(f"{args.file}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{args.file}: not UTF-8 text") from None
    async with app_of(args) as app:
        done = await import_csv(app, text, consent=args.consent, by="command line")
    for problem in done.problems:
        print(f"watcher: {problem}", file=sys.stderr)
    print(f"Imported: {done.words()}.")
    if done.asked:
        print("The confirmation emails are queued for 'watcher run'.")
    return 2 if done.problems else 0


def _read(name: str) -> bytes:
    return Path(name).read_bytes()


async def export_readers(args: argparse.Namespace) -> int:
    import sys

    from watcher.desk.readers import all_readers, export_csv

    async with app_of(args) as app:
        text = export_csv(await all_readers(app))
    sys.stdout.write(text)
    return 0


async def reader_mail(args: argparse.Namespace) -> int:
    from watcher.desk.errors import DeskError
    from watcher.desk.readers import mail_of, reader_named
    from watcher.render.json import message_json
    from watcher.render.times import local_time

    async with app_of(args) as app:
        try:
            reader = await reader_named(app, args.email)
        except DeskError as exc:
            raise CommandError(str(exc)) from None
        found = await mail_of(app, reader)
        if args.json:
            print_json([message_json(message) for message in found])
            return 0
        if not found:
            print(f"No mail for {reader.address} yet.")
            return 0
        zone = app.settings.service.timezone
        rows = [
            [
                str(m.id),
                local_time(m.created_at, zone),
                m.kind,
                m.status,
                for_terminal(m.subject),
                for_terminal(m.last_error or ""),
            ]
            for m in found
        ]
        table(["ID", "QUEUED", "KIND", "STATUS", "SUBJECT", "LAST ERROR"], rows)
    return 0


def _codes(app: App, codes: list[str]) -> list[str]:
    from watcher.config.model import country_key

    wanted = [country_key(code) for code in codes]
    unknown = app.settings.unknown_countries(wanted)
    if unknown:
        known = sorted(country.code for country in app.settings.countries)
        raise CommandError(f"unknown country code {', '.join(unknown)} (known: {', '.join(known)})")
    return wanted


def _email(address: str) -> str:
    from watcher.config.model import check_email

    try:
        return check_email(address)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


async def add_subscription(args: argparse.Namespace) -> int:
    from watcher.store import write_transaction
    from watcher.store.subscribers import subscribe

    email = _email(args.email)
    if not (args.countries or args.section or args.keyword):
        raise CommandError("name a country, a --section or a --keyword to follow")
    async with app_of(args) as app:
        codes = _codes(app, args.countries)
        sections = [_section(app, text) for text in args.section]
        async with write_transaction(app.engine) as connection:
            subscriber = await subscribe(
                connection,
                email=email,
                countries=codes,
                frequency=args.frequency,
                origin="cli",
                now=app.clock(),
                sections=sections,
                keywords=args.keyword,
                quiet=[code for code, _ in sections if code != "*"] if args.no_news else [],
                notable=args.notable,
            )
        following = app.composer.following(subscriber)
    print(f"{subscriber.email} follows {following} ({subscriber.frequency}).")
    return 0


def _section(app: App, text: str) -> tuple[str, str]:
    code, colon, name = text.partition(":")
    if not colon or not name.strip():
        raise CommandError(
            f"{text!r}: write a section as 'CODE: NAME' ('*: NAME' for every country)"
        )
    return (_codes(app, [code.strip()])[0], " ".join(name.split()))


async def remove_subscription(args: argparse.Namespace) -> int:
    from watcher.store import write_transaction
    from watcher.store.subscribers import unsubscribe

    async with app_of(args) as app:
        codes = _codes(app, args.countries)
        async with write_transaction(app.engine) as connection:
            subscriber = await unsubscribe(connection, args.email, codes, app.clock())
    if subscriber is None:
        raise CommandError(f"{args.email} is not a subscriber")
    if subscriber.status == "unsubscribed":
        print(f"{subscriber.email} is unsubscribed and will get no more mail.")
    else:
        print(f"{subscriber.email} now follows {', '.join(subscriber.countries)}.")
    return 0


async def show_subscribers(args: argparse.Namespace) -> int:
    from watcher.render.json import subscriber_json
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.subscribers import list_subscribers

    async with app_of(args) as app:
        async with read_transaction(app.engine) as connection:
            found = await list_subscribers(
                connection, include_inactive=args.all, search=args.search
            )
        if args.json:
            print_json([subscriber_json(subscriber) for subscriber in found])
            return 0
        if not found:
            print("No subscribers yet." if not (args.all or args.search) else "No subscribers.")
            return 0
        zone = app.settings.service.timezone
        rows = [
            [
                s.address,
                ", ".join(s.countries),
                s.frequency,
                s.status,
                s.origin,
                local_time(s.created_at, zone),
            ]
            for s in found
        ]
        table(["EMAIL", "COUNTRIES", "FREQUENCY", "STATUS", "ORIGIN", "SINCE"], rows)
    return 0
