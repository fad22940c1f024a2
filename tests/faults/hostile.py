"""A hostile web server's answers: each route is one way a server or a page can attack or
break a monitor. Served by `tests.servers.ScriptedServer` on 127.0.0.1.

Every fault names what a check must make of it: a failed check whose reason contains the
given text, or (`None`) a harmless success. All are bounded: none needs more than the check's
`timeout` to end, and none makes the client hold more than `max_bytes` at any layer.
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.servers import Route, redirect, reply, static

MAX_BYTES = 5 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


@dataclass(frozen=True)
class Fault:
    route: Route
    reason: str | None  # a failed check's reason contains this; None: a harmless success


def _drip(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one byte every half second, for ever."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    for _ in range(10_000):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.5)


def _no_answer(handler: BaseHTTPRequestHandler) -> None:
    """Read the request, say nothing until the client gives up."""
    time.sleep(30)


def _endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b"<p>" + b"x" * 65_536 + b"</p>"
    for _ in range(100_000):  # 6.5 GB, if anyone read it
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")


def _close_delimited(size: int) -> Route:
    """HTTP/1.0 style: no Content-Length, the body ends when the connection closes."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        )
        chunk = b"<p>" + b"y" * 65_532 + b"</p>"
        for _ in range(size // len(chunk) + 1):
            handler.wfile.write(chunk)

    return route


def _bomb(layers: int, size: int) -> bytes:
    """`size` zero bytes gzipped, gzipped again `layers - 1` times, built in time and memory
    of the compressed size: after a full flush the compressor emits the same bytes for each
    MiB of zeros, so one such piece is repeated. (Its trailer's checksum is wrong, which no
    client that stops at max_bytes ever reads.)"""
    block = b"\0" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = head + piece * (size // len(block) - 1) + compressor.flush()
    for _ in range(layers - 1):
        body = gzip.compress(body, 9)
    return body


def _short_length(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b"<html><body><p>cut short")
    handler.wfile.flush()
    handler.connection.shutdown(socket.SHUT_RDWR)


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Half a body, then a TCP reset (SO_LINGER 0)."""
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b"<html><body>" + b"<p>half</p>" * 500)
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def _raw(data: bytes) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.wfile.write(data)
        handler.wfile.flush()

    return route


def _deep_html(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"


def _many_elements(count: int) -> bytes:
    return b"<html><body>" + b"<i>" * count + b"</body></html>"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>http://example.org/1</link><guid>1</guid></item>
</channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title>
<item><title>leak &secret;</title><link>http://example.org/1</link><guid>1</guid></item>
</channel></rss>"""

XXE_HTML = (
    b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    b"<html><body><p>leak &secret;</p></body></html>"
)


def faults(private_target: str) -> dict[str, Fault]:
    """The hostile routes, by name. `private_target` is a URL in private address space that
    a redirect must not lead to."""
    return {
        "slow-drip": Fault(_drip, "timed out"),
        "no-answer": Fault(_no_answer, "timed out"),
        "endless-body": Fault(_endless, "larger than max_bytes"),
        "gzip-bomb": Fault(
            static(_bomb(1, 1 << 30), headers={"Content-Encoding": "gzip"}),
            "larger than max_bytes",
        ),
        "double-gzip-bomb": Fault(
            static(_bomb(2, 8 << 30), headers={"Content-Encoding": "gzip, gzip"}),
            "larger than max_bytes",
        ),
        "deflate-bomb": Fault(
            static(zlib.compress(b"\0" * (64 << 20), 9), headers={"Content-Encoding": "deflate"}),
            "larger than max_bytes",
        ),
        "over-max-declared": Fault(static(b"<p>" + b"z" * (MAX_BYTES + 10)), "larger than"),
        "over-max-undeclared": Fault(_close_delimited(MAX_BYTES + 100_000), "larger than"),
        "short-content-length": Fault(_short_length, "broke off"),
        "reset-mid-body": Fault(_reset, "broke off"),
        "garbage-not-http": Fault(_raw(b"\x16\x03\x01garbage\r\n\r\n" * 50), "broke off"),
        "http-0.9": Fault(_raw(b"<html><body><p>no status line</p></body></html>"), "broke"),
        "bad-status-line": Fault(_raw(b"HTTP/1.1 abc Nope\r\n\r\n"), "broke off"),
        "header-flood": Fault(
            _raw(b"HTTP/1.1 200 OK\r\n" + b"X-A: " + b"a" * 70_000 + b"\r\n\r\n<p>x</p>"),
            "broke off",
        ),
        "unknown-content-encoding": Fault(
            static(b"<p>x</p>", headers={"Content-Encoding": "x-weird"}), "cannot decode"
        ),
        "corrupt-gzip": Fault(
            static(b"\x1f\x8b\x08\x00garbage-garbage", headers={"Content-Encoding": "gzip"}),
            "corrupt",
        ),
        "empty-200": Fault(static(b"", "text/html"), "cannot be parsed as HTML"),
        "binary-as-html": Fault(static(PNG, "text/html"), "undecodable"),
        "unknown-charset": Fault(
            static(b"<p>plain text</p>", "text/html; charset=x-no-such"), None
        ),
        "rot13-charset": Fault(static(b"<p>plain text</p>", "text/html; charset=rot13"), None),
        "hex-charset": Fault(static(b"<p>plain text</p>", "text/html; charset=hex"), None),
        "undefined-charset": Fault(
            static(b"<p>plain text</p>", "text/html; charset=undefined"), None
        ),
        "redirect-loop": Fault(redirect("/redirect-loop"), "too many redirects"),
        "redirect-to-file": Fault(redirect("file:///etc/passwd"), "not http(s)"),
        "redirect-to-private": Fault(redirect(private_target), "private"),
        "deep-html": Fault(static(_deep_html(200_000)), None),
        "millions-of-elements": Fault(static(_many_elements(1_500_000)), None),
        "billion-laughs": Fault(static(BILLION_LAUGHS, "application/rss+xml"), None),
        "xxe-feed": Fault(static(XXE, "application/rss+xml"), None),
        "xxe-html": Fault(static(XXE_HTML, "application/xhtml+xml"), None),
    }


__all__ = ["MAX_BYTES", "Fault", "faults", "reply"]
