"""`watcher subscribe`, `watcher unsubscribe`, `watcher subscribers`: an operator's view.

Subscriptions added here are confirmed at once: the operator vouches for the address.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import print_json, table
from watcher.config.model import FREQUENCIES

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
