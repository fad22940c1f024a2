"""Where a redirect may lead: never from the host the operator configured into loopback,
private, link-local, multicast or reserved address space (a cloud's metadata service at
169.254.169.254, the admin page of the router, the database next door), unless the source
opts in with `allow_private = true`.

A configured URL is the operator's own choice and is fetched wherever it points. A redirect
to another host is checked twice: an address in the URL at once, and a name when it is
resolved, at connect time (`PublicOnlyResolver`), so a DNS answer that changes between a
check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver

from watcher.fetch.errors import FetchError

OPT_IN = "set allow_private = true on the source to follow it"


class PrivateAddress(OSError):
    """A name resolved only to addresses a redirect must not reach."""


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet (IPv4-mapped IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_literal(host: str) -> None:
    """Refuse a redirect to an IP address that is not public (names are checked on connect)."""
    try:
        public = is_public(host.strip("[]"))
    except ValueError:
        return  # a name: PublicOnlyResolver sees its addresses
    if not public:
        raise FetchError(f"redirected into private address space ({host}); {OPT_IN}")


class PublicOnlyResolver(AbstractResolver):
    """The default resolver, minus every address that is not public."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[dict[str, Any]]:
        answers = await self._inner.resolve(host, port, family)
        public = [answer for answer in answers if is_public(answer["host"])]
        if not public:
            found = ", ".join(sorted({answer["host"] for answer in answers}))
            raise PrivateAddress(
                f"redirected into private address space ({host} is {found}); {OPT_IN}"
            )
        return public

    async def close(self) -> None:
        await self._inner.close()
