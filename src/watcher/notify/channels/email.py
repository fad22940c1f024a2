"""Email: the channel of every subscriber with an email address.

Composing is `notify/compose.py` (jinja2 templates, one rendering for many readers, then each
reader's links) and `notify/mime.py` (the RFC 5322 bytes). Delivery is one batch over one
SMTP connection (`SmtpTransport`: STARTTLS or implicit TLS, AUTH), or files in a maildir
(`MaildirTransport`), as `mail.transport` says; `mail.connections` batches go at once
(`notify/delivery.py`). A 5xx answer fails the message (a refused recipient counts as a
bounce), a 4xx, a refused or dropped connection or a timeout is tried again, and a 421 or a
lost connection makes the rest of the batch wait too.
"""

from __future__ import annotations

import asyncio
import mailbox
from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib

from watcher.config.model import MailConfig
from watcher.errors import DeliveryError
from watcher.notify.channels.kind import Transport
from watcher.notify.composed import Composed
from watcher.notify.parts import Composing
from watcher.store.changes import ChangeRecord
from watcher.store.messages import Message
from watcher.store.subscribers import Subscriber


class EmailKind:
    name = "email"

    def change_messages(
        self,
        readers: Sequence[Subscriber],
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
        parts: Composing,
    ) -> list[Composed]:
        """Rendered once for all of them, then given each reader's address and links."""
        return parts.composer.change_messages(readers, country, records, now)

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        parts: Composing,
    ) -> Composed:
        return parts.composer.digest_message(reader, records, now, period_end)

    def transport(self, parts: Composing) -> Transport:
        """A fresh transport of the configured kind, for one batch."""
        mail = parts.settings.mail
        if mail.transport == "maildir":
            return MaildirTransport(mail.maildir)
        return SmtpTransport(mail)


class SmtpTransport:
    """aiosmtplib, one connection for a batch: STARTTLS or implicit TLS, and AUTH."""

    def __init__(self, mail: MailConfig) -> None:
        self.mail = mail
        self.sender = parseaddr(mail.from_)[1]
        self.smtp: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        mail = self.mail
        self.smtp = aiosmtplib.SMTP(
            hostname=mail.host,
            port=mail.smtp_port,
            use_tls=mail.security == "tls",
            start_tls=mail.security == "starttls",
            timeout=mail.timeout.total_seconds(),
            username=mail.username,
            password=mail.password.get_secret_value() if mail.password else None,
            cert_bundle=mail.ca_file,
        )
        try:
            await self.smtp.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP login refused: {exc.code} {exc.message}",
                permanent=False,
                connection_lost=True,
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"cannot reach the SMTP server {mail.host}:{mail.smtp_port}: {_text(exc)}",
                permanent=False,
                connection_lost=True,
            ) from None

    async def send(self, message: Message) -> None:
        assert self.smtp is not None
        try:
            await self.smtp.sendmail(self.sender, [message.recipient], message.body)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            await self._reset()
            raise _classified(refusal.code, refusal.message, recipient=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            raise _classified(exc.code, exc.message, recipient=False) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"connection to the SMTP server lost: {_text(exc)}",
                permanent=False,
                connection_lost=True,
            ) from None

    async def _reset(self) -> None:
        """After a refusal the session continues with the next message, from a clean state."""
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.rset()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self.smtp.close()

    async def close(self) -> None:
        if self.smtp is None or not self.smtp.is_connected:
            return
        try:
            await self.smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.smtp.close()


def _classified(code: int, message: str, *, recipient: bool) -> DeliveryError:
    reason = f"{code} {message}".strip()
    if 500 <= code < 600:
        return DeliveryError(reason, permanent=True, bounce=recipient)
    # 421 means the server is closing the connection: the rest of the batch waits too.
    return DeliveryError(reason, permanent=False, connection_lost=code == 421)


def _text(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


class MaildirTransport:
    """Each message as a file in a maildir's `new/` (written to `tmp/` first, then moved)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.box: mailbox.Maildir | None = None

    async def open(self) -> None:
        try:
            self.box = await asyncio.to_thread(mailbox.Maildir, self.folder, create=True)
        except OSError as exc:
            raise DeliveryError(
                f"cannot open the maildir {self.folder}: {exc}",
                permanent=False,
                connection_lost=True,
            ) from None

    async def send(self, message: Message) -> None:
        assert self.box is not None
        try:
            await asyncio.to_thread(self.box.add, message.body)
        except OSError as exc:
            raise DeliveryError(
                f"cannot write to the maildir: {exc}", permanent=False, connection_lost=True
            ) from None

    async def close(self) -> None:
        self.box = None
