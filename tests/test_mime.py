"""The MIME writer: every message it writes parses back, exactly, with the standard library."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from watcher.notify.mime import Body, build_message, quoted_printable

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ALPHABET = "abc XYZ 123 .=\t\n\r,;:-–—é漢字🙂<>&\"'" + "\u00a0"  # noqa: RUF001
HOLES = ("HOLExONEx1", "HOLExTWOx2")


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(size))


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def content(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def lines_of(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def build(text: str, html: str | None, **headers: str) -> bytes:
    return build_message(
        sender=headers.get("sender", "Monitor updates <updates@monitor.example>"),
        recipient=headers.get("recipient", "reader@example.org"),
        subject=headers.get("subject", "A subject"),
        text=quoted_printable(text),
        html=None if html is None else quoted_printable(html),
        message_id="<abc.change@monitor.example>",
        date=NOW,
        list_id="Vietnam updates <vn.monitor.example>",
        unsubscribe=["https://monitor.example/unsubscribe/1.xyz"],
        thread_root="<updates.vn@monitor.example>",
    )


@pytest.mark.parametrize("seed", range(25))
def test_random_bodies_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 3000))
    html = random_text(rng, rng.randint(0, 3000))
    raw = build(text, html)
    message = parse(raw)
    assert not message.defects
    assert all(not part.defects for part in message.walk())
    assert content(message, "plain") == lines_of(text)
    assert content(message, "html") == lines_of(html)
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only


def test_holes_are_filled_with_each_readers_values() -> None:
    rng = random.Random(1)
    template = f"{random_text(rng, 500)}{HOLES[0]}{random_text(rng, 300)}{HOLES[1]}!{HOLES[0]}"
    body = Body.encode(template, HOLES)
    values = {HOLES[0]: "reader@example.org", HOLES[1]: "https://x.example/u/1.abc=def"}
    expected = template.replace(HOLES[0], values[HOLES[0]]).replace(HOLES[1], values[HOLES[1]])
    message = parse(
        build_message(
            sender="a@example.org",
            recipient="b@example.org",
            subject="s",
            text=body.fill(values),
            html=None,
            message_id="<x@y>",
            date=NOW,
        )
    )
    assert message.get_content().replace("\r\n", "\n") == lines_of(expected)


def test_headers_are_encoded_and_single_line() -> None:
    raw = build(
        "text",
        "<p>html</p>",
        sender="Équipe Monitor <updates@monitor.example>",
        subject="Vietnam: Política – minas\r\nBcc: evil@example.org " + "ü" * 200,  # noqa: RUF001
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    message = parse(raw)
    assert message["Bcc"] is None
    assert str(message["From"]) == "Équipe Monitor <updates@monitor.example>"
    subject = str(message["Subject"])
    assert subject.startswith("Vietnam: Política – minas Bcc: evil@example.org ü")  # noqa: RUF001
    assert len(subject) <= 180
    for line in head.split(b"\r\n"):
        assert len(line) <= 998
        if line.startswith(b" "):  # only encoded words continue on another line
            assert line.strip().startswith(b"=?utf-8?")
    assert message["List-Unsubscribe"] == "<https://monitor.example/unsubscribe/1.xyz>"
    assert message["Message-ID"] == "<abc.change@monitor.example>"


def test_a_text_only_message() -> None:
    message = parse(build("Just text.\nTwo lines.", None))
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == "Just text.\nTwo lines."
