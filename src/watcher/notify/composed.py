"""A message as the outbox keeps it (`Composed`), and the holes each reader's details fill
in a rendering shared by many readers (`Personal`, `PLACEHOLDER`)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape


@dataclass(frozen=True)
class Composed:
    recipient: str
    subject: str
    message_id: str
    body: bytes  # the RFC 5322 message, CRLF line ends, ready for SMTP

    def as_bytes(self) -> bytes:
        return self.body

    @property
    def message(self) -> EmailMessage:
        """The message parsed back, for previews and tests."""
        parsed = email.message_from_bytes(self.body, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(frozen=True)
class Personal:
    """What differs between two readers of the same news: filled in after rendering."""

    email: str
    following: str
    unsubscribe_url: str
    manage_url: str

    def values(self, *, html: bool) -> dict[str, str]:
        """Placeholder -> this reader's value (HTML-escaped for the HTML part)."""
        fill = escape if html else str
        return {
            PLACEHOLDER.email: fill(self.email),
            PLACEHOLDER.following: fill(self.following),
            PLACEHOLDER.unsubscribe_url: fill(self.unsubscribe_url),
            PLACEHOLDER.manage_url: fill(self.manage_url),
        }


# Letters and digits only: they pass HTML escaping and CSS inlining untouched.
PLACEHOLDER = Personal(
    email="WATCHERxPERSONALxEMAILx7c1e",
    following="WATCHERxPERSONALxFOLLOWINGx7c1e",
    unsubscribe_url="WATCHERxPERSONALxUNSUBSCRIBEx7c1e",
    manage_url="WATCHERxPERSONALxMANAGEx7c1e",
)
HOLES = tuple(PLACEHOLDER.values(html=False))
