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

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from watcher.errors import WatcherError
from watcher.fetch.errors import FetchError

OPT_IN = "set allow_private = true on the source to follow it"


class PrivateAddress(WatcherError, OSError):
    """A name resolved only to addresses a redirect must not reach. An `OSError` too: the
    HTTP client's connector treats it as a connection that could not be made."""


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (:: and ::1 are in it)


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet. An IPv6 address that carries an IPv4
    address to reach (IPv4-mapped, NAT64, 6to4, Teredo, IPv4-compatible) is judged by that
    IPv4 address; a network's own NAT64 prefix and site-local addresses are never public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in LOCAL_NAT64 or ip.is_site_local:
            return False
        inner = _carried(ip)
        if inner is not None:
            return _global(inner)
    return _global(ip)


def _carried(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, if it is one of the kinds that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address: where the packets go
    return None


def _global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
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
    ) -> list[ResolveResult]:
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
