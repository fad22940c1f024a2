"""A real SMTP server on 127.0.0.1 (aiosmtpd) that requires STARTTLS and AUTH, with trustme
certificates, and can be told to refuse: 4xx or 5xx to chosen messages or recipients."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "watcher", "s3cret-pw"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Sink:
    """The handler: keeps what was accepted, answers with scripted refusals first."""

    received: list[Received] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> "550 ..."
    data_replies: list[str | None] = field(default_factory=list)  # next DATA answers; None: accept
    rcpt_seen: list[str] = field(default_factory=list)
    hold: threading.Event | None = None  # when set up: DATA waits for it...
    holding: threading.Event = field(default_factory=threading.Event)  # ...and signals this
    hold_after: int = 0  # ...once this many messages were accepted
    delay: float = 0.0  # seconds each DATA takes: a slow server
    after_each: Callable[[int], None] | None = None  # called with the count of accepted

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpt_seen.append(address)
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await _sleep(self.delay)
        if self.hold is not None and len(self.received) >= self.hold_after:
            self.holding.set()
            while not self.hold.is_set():  # the client process is killed meanwhile
                await _sleep(0.05)
            return "451 4.3.0 held"
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply is not None:
                return reply
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        if self.after_each is not None:
            self.after_each(len(self.received))
        return "250 2.0.0 accepted"


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailServer:
    def __init__(self, folder: Path) -> None:
        ca = trustme.CA()
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(
            self.sink,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_authenticate,
        )

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.sink.received

    def to(self, address: str) -> list[EmailMessage]:
        return [item.message for item in self.received if address in item.recipients]

    def settings(self) -> dict[str, Any]:
        """The [mail] section that reaches this server (the password comes from the env)."""
        return {
            "transport": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "security": "starttls",
            "username": USER,
            "ca_file": str(self.ca_file),
            "timeout": "5s",
            "from": "Monitor updates <updates@monitor.example>",
        }
