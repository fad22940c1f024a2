"""Channels: where a subscriber's messages go, and how each medium renders and delivers them.

Every subscriber is reached through one kind of channel. An email address is the `email`
channel (`email.py`: MIME, then SMTP or a maildir). A subscriber declared with
`channel = "NAME"` has the address `channel:NAME`; its URL (and, for a webhook, its signing
secret) come from the environment or the secrets file (`config/loader.py: Channel`), and
the URL's scheme picks the kind: http(s) is a `webhook` (`webhook.py`), any other scheme
apprise knows (slack://, msteams://, matrix://, tgram://, ntfy://, json://, ...) goes
through `apprise` (`chat.py`).

Each kind is one module with one class, in the manner of the source kinds
(`extract/kinds/`): it renders a change or a digest for its medium when the outbox composes
(stored in the outbox as composed, so a retry sends exactly that), and gives the transport
that delivers a claimed batch of its messages. Every kind goes through the same outbox
(`notify/queue.py` composes, `notify/delivery.py` delivers): claimed, retried with backoff
on temporary trouble, recorded on permanent failure, never lost, repeated at most for the
message in flight when a process died.

    class PagerKind:
        name = "pager"
        def change_messages(self, readers, country, records, now, parts) -> list[Composed]: ...
        def digest_message(self, reader, records, now, period_end, parts) -> Composed: ...
        def transport(self, parts) -> Transport: ...

`parts` is what a channel composes and delivers with (`notify/parts.py: Composing`: the
configuration and the email composer). The protocols, `composed` and `SenderTransport` are
in `kind.py`. A kind whose medium has no batch of its own gives `SenderTransport(parts,
sender)`: a sender with one method, `send(message, channel)`.

This module stays light (`watcher/loading.py` checks channel URLs with it); a kind's module is
imported when it is first used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from watcher.notify.channels.kind import ChannelKind, Sender, SenderTransport, Transport, channel_of

if TYPE_CHECKING:
    from watcher.notify.parts import Composing

__all__ = [
    "ChannelKind",
    "Sender",
    "SenderTransport",
    "Transport",
    "by_kind",
    "channel_of",
    "kind",
    "kind_name",
    "kind_of",
    "secret_length",
    "url_problem",
]

T = TypeVar("T")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://\S+$", re.IGNORECASE)


def kind_name(url: str) -> str:
    """Which kind of channel a URL is: "webhook" for http(s), else "apprise"."""
    found = _SCHEME.match(url)
    scheme = found.group(1).lower() if found else ""
    return "webhook" if scheme in ("http", "https") else "apprise"


# The length of secret a kind's messages are signed with, at least (a webhook's signature).
SECRETS = {"webhook": 16}


def secret_length(kind: str) -> int:
    """How long a channel of this kind's signing secret must be at least (0: it has none)."""
    return SECRETS.get(kind, 0)


def url_problem(url: str) -> str | None:
    """What is wrong with a channel URL, if anything (never quoting it: it holds secrets)."""
    if not _SCHEME.match(url):
        return "not a URL (a webhook starts with https://; see apprise's URLs for the rest)"
    if kind_name(url) == "apprise":
        import apprise

        if not apprise.Apprise().add(url):
            return "not a URL apprise knows (its scheme or its parts)"
    return None


def kind_of(parts: Composing, address: str) -> ChannelKind:
    """The kind of channel that reaches an address: `email` for an email address; for
    `channel:NAME`, the kind of the configured channel's URL (a webhook if it left the
    configuration: its message fails at delivery with that reason, as mail to a dead
    address would)."""
    name = channel_of(address)
    if name is None:
        return kind("email")
    channel = parts.config.channels.get(name)
    return kind(channel.kind if channel is not None else "webhook")


def by_kind(
    parts: Composing, items: Iterable[T], address: Callable[[T], str]
) -> list[tuple[ChannelKind, list[T]]]:
    """`items` (readers, messages) split by the kind of channel that reaches each one's
    address, in the order given."""
    kinds: dict[str, tuple[ChannelKind, list[T]]] = {}
    for item in items:
        found = kind_of(parts, address(item))
        kinds.setdefault(found.name, (found, []))[1].append(item)
    return list(kinds.values())


@cache
def kind(name: str) -> ChannelKind:
    """The kind of channel named, its module imported on first use."""
    if name == "email":
        from watcher.notify.channels.email import EmailKind

        return EmailKind()
    if name == "webhook":
        from watcher.notify.channels.webhook import WebhookKind

        return WebhookKind()
    from watcher.notify.channels.chat import AppriseKind

    return AppriseKind()
