"""`watcher healthcheck`: ask the running service's /healthz (the container health check)."""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli.common import config_of, example


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "healthcheck",
        help="exit 0 when the running service answers /healthz with 200",
        description="Ask the service listening on service.listen for /healthz: exit 0 when it "
        "answers 200, 1 otherwise. The container image's HEALTHCHECK runs this.",
        epilog=example("watcher healthcheck && echo healthy"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds (default 4)")
    parser.set_defaults(handler=healthcheck)


def local_address(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("0.0.0.0", ""):  # noqa: S104 (listening everywhere: ask on loopback)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def healthcheck(args: argparse.Namespace) -> int:
    import httpx

    address = local_address(config_of(args).settings.service.listen)
    try:
        async with httpx.AsyncClient(timeout=args.timeout) as client:
            response = await client.get(f"http://{address}/healthz")
    except httpx.HTTPError as exc:
        print(f"unhealthy: {type(exc).__name__} from http://{address}/healthz")
        return 1
    print(f"{'healthy' if response.status_code == 200 else 'unhealthy'}: {response.text.strip()}")
    return 0 if response.status_code == 200 else 1
