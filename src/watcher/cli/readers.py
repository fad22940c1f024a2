"""`watcher erase EMAIL` and `watcher resend EMAIL`: an operator's care of one reader, as the
API's `DELETE /api/v1/subscribers/{email}` and `POST .../resend` do it.

watcher erase EMAIL    the reader's subscription, choices and waiting news deleted; the mail
                       sent to them kept only as counts (as their own erase does)
watcher resend EMAIL   their confirmation email again, a fresh link for what they asked
"""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import CommandError, app_of, example


def register(commands: Any) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    erase = commands.add_parser(
        "erase",
        help="erase a reader: subscription, choices, waiting news (mail kept as counts)",
        description=(
            "Erase a reader, as the erase button of their manage page does: their"
            " subscription, choices and waiting news are deleted; the messages sent to them"
            " stay only as counts, without address, text or error."
        ),
        epilog=example("watcher erase reader@example.org"),
        formatter_class=raw,
    )
    erase.add_argument("email")
    erase.set_defaults(handler=erase_reader_command)
    resend = commands.add_parser(
        "resend",
        help="send a reader's confirmation email again (a lost or expired link)",
        description=(
            "Send the confirmation email of the subscription an address asked for and has"
            " not confirmed yet, with a fresh link (at most one every ten minutes)."
        ),
        epilog=example("watcher resend reader@example.org"),
        formatter_class=raw,
    )
    resend.add_argument("email")
    resend.set_defaults(handler=resend_command)


async def erase_reader_command(args: argparse.Namespace) -> int:
    from watcher.desk.errors import DeskError
    from watcher.desk.readers import erase

    async with app_of(args) as app:
        try:
            reader, kept = await erase(app, args.email)
        except DeskError as exc:
            raise CommandError(str(exc)) from None
    print(f"{reader.address} is erased ({kept} messages kept as counts, without address).")
    return 0


async def resend_command(args: argparse.Namespace) -> int:
    from watcher.notify.confirmations import resend_confirmation

    async with app_of(args) as app:
        sent = await resend_confirmation(app.engine, app.composer, args.email, app.clock())
    if sent is None:
        raise CommandError(f"no confirmation is waiting for {args.email}")
    if not sent:
        raise CommandError("a confirmation went out less than ten minutes ago; try again later")
    print(f"A new confirmation email to {args.email} is queued for 'watcher run'.")
    return 0
