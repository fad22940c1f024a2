"""`watcher check`: one pass over the due sources (or the named ones), then a summary."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from watcher.cli.common import CommandError, app_of, example
from watcher.cli.output import style
from watcher.text import for_terminal

if TYPE_CHECKING:
    from watcher.check import Outcome, PassResult

STATUS_COLOURS = {"changed": "32", "failed": "31", "baseline": "36", "unchanged": "2"}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="check the due sources once, then exit",
        description="One pass over the sources that are due (or the named ones, or --all).",
        epilog=example("watcher check --all    # check every source now"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_ids", nargs="*", metavar="SOURCE_ID", help="check these sources")
    parser.add_argument("--all", action="store_true", help="check every source, due or not")
    parser.add_argument("--dry-run", action="store_true", help="fetch and compare, record nothing")
    parser.add_argument(
        "--no-send", action="store_true", help="queue the emails, leave delivery to 'watcher run'"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    from watcher.extract.bounded import start_server

    start_server()  # while the rest is imported and the database opened
    from watcher.check import UnknownSource, run_pass

    async with app_of(args) as app:
        progress = Progress(sys.stdout, dry_run=args.dry_run)
        try:
            result = await run_pass(
                app,
                ids=args.source_ids or None,
                every=args.all,
                dry_run=args.dry_run,
                on_start=progress.start,
                on_outcome=progress.outcome,
            )
        except UnknownSource as exc:
            raise CommandError(
                f"unknown source id: {', '.join(exc.ids)} (see 'watcher sources')"
            ) from None
        progress.finish()
        if not result.outcomes and not result.skipped:
            if args.all:
                print("Every source is being checked by another watcher process right now.")
            else:
                await _nothing_due(app, sys.stdout)
        _summary(result, sys.stdout)
        if not args.dry_run:
            await _mail(app, send=not args.no_send, stream=sys.stdout)
    return 3 if result.failed else 0


async def _mail(app: Any, *, send: bool, stream: TextIO) -> None:
    """Queue the emails the pass made due, then (unless --no-send) deliver the outbox."""
    from watcher.notify.queue import compose_pending

    queued = await compose_pending(app, settle=timedelta(0))  # the pass is over: all in
    if not send:
        if queued:
            stream.write(f"Mail: {queued} queued, left for 'watcher run' to deliver.\n")
        return
    from watcher.notify.delivery import deliver

    report = await deliver(app)
    if not queued and not report.attempted:
        return
    stream.write(
        f"Mail: {queued} queued; {report.sent} sent, {report.retrying} to retry later,"
        f" {report.failed} failed.\n"
    )
    if report.errors:
        last = for_terminal(report.errors[-1])  # the SMTP server's words
        stream.write(f"  last delivery error: {last} (see 'watcher outbox')\n")
    for address in report.suspended:
        stream.write(f"  {address} was suspended after repeated hard bounces.\n")


class Progress:
    """One line per source; on a terminal, a bar below them fills as checks finish."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, dry_run: bool) -> None:
        self.stream = stream
        self.dry_run = dry_run
        self.count = 0
        self.total = 0
        self.live = stream.isatty()

    def start(self, total: int) -> None:
        self.total = total
        self._bar()

    def outcome(self, outcome: Outcome) -> None:
        self.count += 1
        if self.live:
            self.stream.write("\r\033[K")
        status = style(f"{outcome.status:<9}", STATUS_COLOURS[outcome.status], self.stream)
        change = f" (change #{outcome.change_id})" if outcome.change_id else ""
        detail = for_terminal(outcome.detail)
        self.stream.write(f"{status} {outcome.source.id}  {detail}{change}\n")
        self._bar()
        self.stream.flush()

    def _bar(self) -> None:
        if not self.live or not self.total:
            return
        filled = self.WIDTH * self.count // self.total
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        self.stream.write(f"\r\033[K{bar} {self.count}/{self.total} checked")
        self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


async def _nothing_due(app: Any, stream: TextIO) -> None:
    from watcher.render.times import local_time
    from watcher.store import read_transaction
    from watcher.store.sources import load_states

    async with read_transaction(app.engine) as connection:
        states = await load_states(connection)
    if not states:
        stream.write("No sources are configured.\n")
    else:
        first = min(states, key=lambda s: s.next_check_at)
        when = local_time(first.next_check_at, app.settings.service.timezone)
        stream.write(
            f"Nothing is due; the next check is {first.id} at {when}."
            " Use --all to check every source now.\n"
        )


def _summary(result: PassResult, stream: TextIO) -> None:
    counts = result.counts
    if result.skipped:
        stream.write(f"Skipped (being checked by another process): {', '.join(result.skipped)}\n")
    if not result.outcomes:
        return
    noun = "source" if len(result.outcomes) == 1 else "sources"
    stream.write(
        f"Checked {len(result.outcomes)} {noun} in {result.seconds:.2f}s: "
        f"{counts['changed']} changed, {counts['unchanged']} unchanged, "
        f"{counts['baseline']} baseline, {counts['failed']} failed.\n"
    )
    if result.failed:
        stream.write("Failed sources (retried with backoff; see 'watcher sources'):\n")
        for outcome in result.failed:
            stream.write(f"  {outcome.source.id}: {for_terminal(outcome.detail)}\n")
