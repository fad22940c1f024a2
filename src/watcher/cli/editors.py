"""`watcher editors`: the people who review changes before readers are told (`review/`), and
the operators who also run the desk's sources and subscribers.

watcher editors add EMAIL [--role operator]   an invitation email with a link that sets the
                                              password
watcher editors list          who, since when, last signed in
watcher editors remove EMAIL  no more sign-ins; their sessions end
"""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import CommandError, app_of, example


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "editors",
        help="add, list or remove the editors who review changes (and operators)",
        description=(
            "Editors read a change of a reviewed country ([review] all, or a country's"
            " review = true) before its readers are told, and approve or discard it on the"
            " web. Adding one emails them a link that sets their password."
        ),
        epilog=example("watcher editors add desk@monitor.example"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="invite an editor (an email sets the password)")
    add.add_argument("email")
    add.add_argument(
        "--see-subscribers",
        action="store_true",
        help="may see readers' addresses (by default an editor sees only how many)",
    )
    add.add_argument(
        "--role",
        choices=("editor", "operator"),
        default="editor",
        help="editor (default): reviews changes; operator: also sources and subscribers",
    )
    add.set_defaults(handler=add_editor)
    remove = actions.add_parser("remove", help="no more sign-ins for this editor")
    remove.add_argument("email")
    remove.set_defaults(handler=remove_editor)
    show = actions.add_parser("list", help="the editors")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=list_editors)


async def add_editor(args: argparse.Namespace) -> int:
    from watcher.config.model import check_email
    from watcher.notify.editors import invitation
    from watcher.store import write_transaction
    from watcher.store.editors import INVITE_LIFETIME, invite
    from watcher.store.notifications import add_message
    from watcher.web.editors import invitation_link

    try:
        email = check_email(args.email)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    async with app_of(args) as app:
        now = app.clock()
        async with write_transaction(app.engine) as connection:
            editor, secret = await invite(
                connection, email, now, see_subscribers=args.see_subscribers, role=args.role
            )
            link = invitation_link(app.settings.service.public_url, editor.id, secret)
            composed = invitation(app.composer, editor.email, link, INVITE_LIFETIME, now)
            await add_message(connection, composed, kind="alert", subscriber_id=None, now=now)
    print(
        f"{editor.email} is invited as {editor.role}: an email with a link to set the password"
        " is queued (the service sends it; `watcher check` does too)."
    )
    return 0


async def remove_editor(args: argparse.Namespace) -> int:
    from watcher.store import write_transaction
    from watcher.store.editors import remove

    async with app_of(args) as app, write_transaction(app.engine) as connection:
        found = await remove(connection, args.email, app.clock())
    if not found:
        raise CommandError(f"{args.email} is not an editor")
    print(f"{args.email} can no longer sign in.")
    return 0


async def list_editors(args: argparse.Namespace) -> int:
    from watcher.cli.output import print_json, table
    from watcher.render.times import iso, local_time
    from watcher.store import read_transaction
    from watcher.store.editors import list_editors as editors_of

    async with app_of(args) as app:
        async with read_transaction(app.engine) as connection:
            found = await editors_of(connection)
        if args.json:
            print_json(
                [
                    {
                        "email": e.email,
                        "status": e.status,
                        "role": e.role,
                        "see_subscribers": e.see_subscribers,
                        "created_at": iso(e.created_at),
                        "last_login_at": iso(e.last_login_at),
                    }
                    for e in found
                ]
            )
            return 0
        if not found:
            print("No editors yet: `watcher editors add EMAIL`.")
            return 0
        zone = app.settings.service.timezone
        rows = [
            [
                e.email,
                e.role,
                e.status,
                "yes" if e.see_subscribers else "no",
                local_time(e.created_at, zone),
                local_time(e.last_login_at, zone) if e.last_login_at else "never",
            ]
            for e in found
        ]
        table(["EMAIL", "ROLE", "STATUS", "SEES ADDRESSES", "SINCE", "LAST SIGN-IN"], rows)
    return 0
