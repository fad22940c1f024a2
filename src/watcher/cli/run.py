"""`watcher run`: the service, until SIGTERM."""

from __future__ import annotations

import argparse
import os
from typing import Any

from watcher.cli.common import CommandError, config_of, example


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="the service: scheduled checks, mail delivery and the web pages, until SIGTERM",
        description="Run the service: checks on schedule, mail delivery, web pages and API. "
        "SIGTERM stops it cleanly; SIGHUP reloads the configuration.",
        epilog=example("WATCHER_API_TOKEN=... watcher --config /config/watcher.toml run"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run, log_level="INFO")


async def run(args: argparse.Namespace) -> int:
    from watcher.config.loader import config_path
    from watcher.service.runner import Service, ServiceError

    config = config_of(args)
    try:
        return await Service(config, config_path(args.config, os.environ)).run()
    except ServiceError as exc:
        raise CommandError(str(exc), status=1) from None
