"""Fetching over real HTTP on 127.0.0.1: validators, limits, politeness, failures."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

from tests.servers import (
    ScriptedServer,
    endless,
    hang_up,
    redirect,
    redirect_loop,
    reply,
    slow,
    static,
)
from watcher.fetch import Fetcher, FetchError, Request, Validators
from watcher.fetch.client import retry_after_seconds
from watcher.fetch.guard import is_public

PAGE = b"<html><body><p>Hello</p></body></html>"


def fetcher(**options: int) -> Fetcher:
    return Fetcher(user_agent="watcher-test/1 (+https://example.org)", **options)


def request(url: str, **options: object) -> Request:
    return Request(
        url=url,
        timeout=options.pop("timeout", 5.0),
        max_bytes=options.pop(  # type: ignore[arg-type]
            "max_bytes", 1_000_000
        ),
        **options,
    )  # type: ignore[arg-type]


async def test_conditional_request_sends_stored_validators(scripted: ScriptedServer) -> None:
    scripted.routes["/p"] = static(
        PAGE, headers={"ETag": '"v2"', "Last-Modified": "Mon, 29 Oct 2012 12:00:00 GMT"}
    )
    validators = Validators(etag='"v1"', last_modified="Wed, 02 Nov 2011 12:00:00 GMT")
    async with fetcher() as client:
        response = await client.fetch(request(scripted.url("/p"), validators=validators))
    sent = scripted.seen[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Wed, 02 Nov 2011 12:00:00 GMT"
    assert sent["User-Agent"].startswith("watcher-test/1")
    assert response.status == 200
    assert response.body == PAGE
    assert response.validators == Validators('"v2"', "Mon, 29 Oct 2012 12:00:00 GMT")


async def test_304_is_not_modified_with_an_empty_body(scripted: ScriptedServer) -> None:
    scripted.routes["/p"] = static(b"", status=304, headers={"ETag": '"v1"'})
    async with fetcher() as client:
        response = await client.fetch(request(scripted.url("/p"), validators=Validators('"v1"')))
    assert response.not_modified
    assert response.body == b""


async def test_gzip_bodies_are_decompressed(scripted: ScriptedServer) -> None:
    scripted.routes["/z"] = static(gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
    async with fetcher() as client:
        response = await client.fetch(request(scripted.url("/z")))
    assert response.body == PAGE
    assert "gzip" in scripted.seen[-1].headers["Accept-Encoding"]


@pytest.mark.parametrize("declared", [True, False])
async def test_bodies_over_max_bytes_stop_early(scripted: ScriptedServer, declared: bool) -> None:
    scripted.routes["/big"] = static(b"x" * 300_000) if declared else endless()
    started = time.perf_counter()
    async with fetcher() as client:
        with pytest.raises(FetchError, match=r"larger than max_bytes \(100,000 bytes\)"):
            await client.fetch(request(scripted.url("/big"), max_bytes=100_000))
    assert time.perf_counter() - started < 5  # the endless body was not read to its end


@pytest.mark.parametrize("layers", [1, 2, 3])
async def test_a_compressed_bomb_is_cut_at_max_bytes(scripted: ScriptedServer, layers: int) -> None:
    bomb = b"<p>" + b"a" * 5_000_000
    for _ in range(layers):
        bomb = gzip.compress(bomb)
    encoding = ", ".join(["gzip"] * layers)
    scripted.routes["/bomb"] = static(bomb, headers={"Content-Encoding": encoding})
    async with fetcher() as client:
        with pytest.raises(FetchError, match="larger than max_bytes"):
            await client.fetch(request(scripted.url("/bomb"), max_bytes=100_000))
        # Each layer is undone in turn, deflate with or without its zlib wrapper.
        page = zlib.compress(gzip.compress(PAGE))
        scripted.routes["/two"] = static(page, headers={"Content-Encoding": "gzip, deflate"})
        assert (await client.fetch(request(scripted.url("/two")))).body == PAGE
        raw = zlib.compressobj(wbits=-15)
        scripted.routes["/raw"] = static(
            raw.compress(PAGE) + raw.flush(), headers={"Content-Encoding": "deflate"}
        )
        assert (await client.fetch(request(scripted.url("/raw")))).body == PAGE


@pytest.mark.parametrize(
    ("body", "encoding", "reason"),
    [
        (b"<p>x</p>", "br", "encoded as 'br'"),
        (b"<p>x</p>", "x-weird", "cannot decode"),
        (gzip.compress(PAGE)[:-12], "gzip", "cut short"),
        (b"\x1f\x8b\x08\x00broken-broken", "gzip", "corrupt"),
    ],
)
async def test_an_encoding_that_cannot_be_undone_is_a_reason(
    scripted: ScriptedServer, body: bytes, encoding: str, reason: str
) -> None:
    scripted.routes["/e"] = static(body, headers={"Content-Encoding": encoding})
    async with fetcher() as client:
        with pytest.raises(FetchError, match=reason):
            await client.fetch(request(scripted.url("/e")))


async def test_timeout_covers_the_whole_request(scripted: ScriptedServer) -> None:
    scripted.routes["/slow"] = slow(3)
    scripted.routes["/drip"] = endless(chunk=b"<p>x</p>", pause=0.2)
    async with fetcher() as client:
        for path in ("/slow", "/drip"):
            started = time.perf_counter()
            with pytest.raises(FetchError, match="timed out after 1s"):
                await client.fetch(request(scripted.url(path), timeout=1.0, max_bytes=10**9))
            assert time.perf_counter() - started < 2.5


async def test_redirects_are_followed_then_capped(scripted: ScriptedServer) -> None:
    scripted.routes["/old"] = static(
        b"", status=301, content_type=None, headers={"Location": "/new"}
    )
    scripted.routes["/new"] = static(PAGE)
    scripted.routes["/loop"] = redirect_loop("/loop")
    async with fetcher(max_redirects=3) as client:
        response = await client.fetch(request(scripted.url("/old")))
        assert response.url.endswith("/new")
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            await client.fetch(request(scripted.url("/loop")))
    assert scripted.count("/loop") == 4


async def test_a_304_is_not_modified_even_with_a_location(scripted: ScriptedServer) -> None:
    # httpx's is_redirect holds for every 3xx; only 301/302/303/307/308 are redirects.
    scripted.routes["/p"] = static(
        b"", status=304, content_type=None, headers={"Location": "/gone", "ETag": '"v1"'}
    )
    async with fetcher() as client:
        response = await client.fetch(request(scripted.url("/p"), validators=Validators('"v1"')))
    assert response.not_modified
    assert response.validators.etag == '"v1"'
    assert [seen.path for seen in scripted.seen] == ["/p"]
    assert scripted.seen[0].headers["Host"] == scripted.url("/").split("/")[2]


async def test_host_is_sent_once_and_a_configured_one_wins(scripted: ScriptedServer) -> None:
    scripted.routes["/p"] = static(PAGE)
    async with fetcher() as client:
        await client.fetch(request(scripted.url("/p")))
        await client.fetch(request(scripted.url("/p"), headers=(("host", "example.org"),)))
    plain, configured = (seen.headers.get_all("Host") for seen in scripted.seen)
    assert plain == [scripted.url("/").split("/")[2]]
    assert configured == ["example.org"]


async def test_a_3xx_with_no_redirect_to_follow_is_a_reason(scripted: ScriptedServer) -> None:
    scripted.routes["/moved"] = static(b"", status=301, content_type=None)
    scripted.routes["/choices"] = static(PAGE, status=300, headers={"Location": "/a"})
    async with fetcher() as client:
        for path, status in (("/moved", "301 Moved Permanently"), ("/choices", "300 Multiple")):
            with pytest.raises(FetchError, match=f"HTTP {status}.* no redirect to follow"):
                await client.fetch(request(scripted.url(path)))
    assert [seen.path for seen in scripted.seen] == ["/moved", "/choices"]


def cookie_gate(handler: BaseHTTPRequestHandler) -> None:
    """A page that sets a cookie and sends the visitor back, as consent walls do."""
    if "seen=1" in (handler.headers.get("Cookie") or ""):
        reply(handler, 200, PAGE)
    else:
        reply(handler, 302, b"", None, {"Location": "/gate", "Set-Cookie": "seen=1; Path=/"})


async def test_cookies_set_in_a_redirect_chain_are_sent_within_it_only(
    scripted: ScriptedServer,
) -> None:
    scripted.routes["/gate"] = cookie_gate
    scripted.routes["/plain"] = static(PAGE)
    async with fetcher() as client:
        response = await client.fetch(request(scripted.url("/gate")))
        assert response.body == PAGE
        await client.fetch(request(scripted.url("/plain")))
    assert [seen.headers.get("Cookie") for seen in scripted.seen] == [None, "seen=1", None]


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    scripted: ScriptedServer,
) -> None:
    elsewhere = scripted.url("/there").replace("127.0.0.1", "localhost")
    scripted.routes["/here"] = redirect("/same")
    scripted.routes["/same"] = redirect(elsewhere)
    scripted.routes["/there"] = static(PAGE)
    secret = (("Authorization", "Bearer s3cret"), ("Cookie", "session=1"), ("X-Tag", "kept"))
    async with fetcher() as client:  # "localhost" is private space: the source opts in
        response = await client.fetch(
            request(scripted.url("/here"), headers=secret, allow_private=True)
        )
    assert response.url == elsewhere
    same, there = scripted.seen[1].headers, scripted.seen[2].headers
    assert (same["Authorization"], same["Cookie"], same["X-Tag"]) == (
        "Bearer s3cret",
        "session=1",
        "kept",
    )
    assert (there["Authorization"], there["Cookie"], there["X-Tag"]) == (None, None, "kept")
    assert there["Host"] == elsewhere.split("/")[2]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",  # refused before any packet is sent
        "http://127.0.0.2:9/",
        "http://[::1]:9/",
        "http://[::ffff:10.0.0.1]/",
        "http://224.0.0.1/",
        "LOCALHOST",  # a name: refused when it resolves, at connect time
    ],
)
async def test_a_redirect_into_private_space_is_refused(
    scripted: ScriptedServer, target: str
) -> None:
    if target == "LOCALHOST":
        target = scripted.url("/secret").replace("127.0.0.1", "localhost")
    scripted.routes["/page"] = redirect(target)
    scripted.routes["/secret"] = static(b"<p>credentials</p>")
    async with fetcher() as client:
        with pytest.raises(FetchError, match=r"redirected into private address space \("):
            await client.fetch(request(scripted.url("/page")))
        assert scripted.count("/secret") == 0
        # The operator may allow it; and a redirect within the configured host is theirs.
        scripted.routes["/page"] = redirect(
            scripted.url("/secret").replace("127.0.0.1", "localhost")
        )
        response = await client.fetch(request(scripted.url("/page"), allow_private=True))
        assert response.body == b"<p>credentials</p>"
        scripted.routes["/page"] = redirect("/secret")
        assert (await client.fetch(request(scripted.url("/page")))).status == 200


def test_public_addresses() -> None:
    assert is_public("93.184.216.34")
    assert is_public("2606:2800:220:1:248:1893:25c8:1946")
    for address in (
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
    ):
        assert not is_public(address), address


def test_addresses_that_carry_an_ipv4_address_are_judged_by_it() -> None:
    """NAT64, 6to4 and IPv4-compatible addresses reach the IPv4 address inside them: that
    address decides. Site-local (deprecated, but still routed inside some networks) is private."""
    for address in (
        "64:ff9b::7f00:1",  # NAT64 (RFC 6052) of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::c0a8:101",  # local-use NAT64 (RFC 8215) of 192.168.1.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "fec0::1",  # site-local
    ):
        assert not is_public(address), address
    for address in ("64:ff9b::5db8:d822", "2002:5db8:d822::1"):  # 93.184.216.34 inside
        assert is_public(address), address


async def test_a_redirect_off_the_web_is_a_reason(scripted: ScriptedServer) -> None:
    scripted.routes["/ftp"] = static(
        b"", status=301, content_type=None, headers={"Location": "ftp://127.0.0.1/file"}
    )
    async with fetcher() as client:
        with pytest.raises(FetchError, match="not http"):
            await client.fetch(request(scripted.url("/ftp")))


async def test_gets_carry_no_body_and_share_a_connection(scripted: ScriptedServer) -> None:
    scripted.routes["/p"] = static(PAGE)
    async with fetcher(per_host=1) as client:
        for _ in range(3):
            assert (await client.fetch(request(scripted.url("/p")))).body == PAGE
    for seen in scripted.seen:
        assert seen.headers["Transfer-Encoding"] is None
        assert seen.headers["Content-Length"] in (None, "0")
    assert scripted.connections == 1


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_statuses_fail(scripted: ScriptedServer, status: int) -> None:
    scripted.routes["/e"] = static(b"nope", status=status)
    async with fetcher() as client:
        with pytest.raises(FetchError, match=f"HTTP {status}") as caught:
            await client.fetch(request(scripted.url("/e")))
    assert caught.value.status == status


async def test_retry_after_is_read_from_429_and_503(scripted: ScriptedServer) -> None:
    scripted.routes["/busy"] = static(b"", status=429, headers={"Retry-After": "120"})
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    scripted.routes["/down"] = static(b"", status=503, headers={"Retry-After": later})
    async with fetcher() as client:
        with pytest.raises(FetchError) as busy:
            await client.fetch(request(scripted.url("/busy")))
        with pytest.raises(FetchError) as down:
            await client.fetch(request(scripted.url("/down")))
    assert busy.value.retry_after == 120
    assert down.value.retry_after is not None
    assert 7100 < down.value.retry_after <= 7200


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds("99999999") == 7 * 86400
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(past) == 0


async def test_at_most_per_host_requests_in_flight(scripted: ScriptedServer) -> None:
    scripted.routes["/s"] = slow(0.3)
    async with fetcher(per_host=2) as client:
        await asyncio.gather(*(client.fetch(request(scripted.url("/s"))) for _ in range(6)))
    assert scripted.max_in_flight == 2
    assert scripted.count("/s") == 6


async def test_connection_failures_are_reasons_not_crashes(scripted: ScriptedServer) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scripted.routes["/hang"] = hang_up()
    async with fetcher() as client:
        with pytest.raises(FetchError, match="cannot connect"):
            await client.fetch(request(f"http://127.0.0.1:{port}/"))
        with pytest.raises(FetchError, match="broke off"):
            await client.fetch(request(scripted.url("/hang")))
        with pytest.raises(FetchError, match="cannot fetch this URL"):
            await client.fetch(request("gopher://127.0.0.1/x"))
