"""Channels: where a subscriber's messages go when it is not a mailbox.

A subscriber declared with `channel = "NAME"` has the address `channel:NAME`; its URL and
signing secret come from the environment (`config/loader.py: Channel`). A channel renders a
change or a digest for its medium when the outbox composes (the rendering is stored in the
outbox like an email's bytes, so a retry sends exactly what was composed) and delivers it
through the same outbox as email: claimed, retried with backoff on temporary trouble,
recorded on permanent failure, never lost (`notify/mailer.py` routes each message by its
address). `webhook.py` is the one channel so far.
"""

from __future__ import annotations

from watcher.config.model import CHANNEL_PREFIX


def channel_of(address: str) -> str | None:
    """The channel an address names (`channel:ops` -> "ops"); None for an email address."""
    return address[len(CHANNEL_PREFIX) :] if address.startswith(CHANNEL_PREFIX) else None
