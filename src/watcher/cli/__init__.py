"""The `watcher` command: argument parsing, and the one place errors become exit statuses.

Exit status: 0 done; 1 a runtime failure (e.g. the database is unreachable); 2 bad
configuration or arguments (one clear line per problem on stderr); 3 a pass finished but some
sources failed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from watcher import __version__
from watcher.cli import (
    changes,
    check,
    demo,
    editors,
    health,
    history,
    noise,
    outbox,
    prune,
    readers,
    review,
    run,
    sources,
    subscribers,
    trying,
)
from watcher.cli.common import CommandError
from watcher.logs import setup_logging

COMMANDS = (
    run,
    check,
    trying,
    sources,
    changes,
    history,
    review,
    noise,
    subscribers,
    readers,
    editors,
    outbox,
    prune,
    demo,
    health,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher",
        description="Watch country profile pages and news feeds; email subscribers what changed.",
        epilog="Run 'watcher COMMAND --help' for the options and an example of each command.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $WATCHER_CONFIG, else config/watcher.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, default_level=getattr(args, "log_level", "WARNING"))
    try:
        return asyncio.run(args.handler(args))
    except KeyboardInterrupt:
        print("watcher: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _failure(exc)


def console() -> NoReturn:
    """The `watcher` program (and `python -m watcher`): `main`, then a quick exit.

    Once a command is done, what is left for the interpreter is freeing every object it made,
    one by one: ~0.2 s after a pass over 2,000 sources, a tenth of the pass (bench/README).
    The exit handlers run (logging flushes, multiprocessing reaps its children), the
    standard streams are flushed, and the process ends without that teardown. `main` stays
    the function tests call.
    """
    status = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(status)


def _failure(exc: Exception) -> int:
    """The exit status for an expected failure, after one clear line per problem on stderr.

    The error classes are imported only now: `watcher --help` should not load a database.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from watcher.config import ConfigError
    from watcher.errors import StoreError

    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(f"watcher: {problem}", file=sys.stderr)
        return 2
    if isinstance(exc, CommandError):
        print(f"watcher: {exc}", file=sys.stderr)
        return exc.status
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"watcher: database error: {detail}", file=sys.stderr)
        return 1
    if isinstance(exc, StoreError | OSError):
        print(f"watcher: {exc}", file=sys.stderr)
        return 1
    raise exc
