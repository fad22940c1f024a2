"""Chat and push services through apprise (Slack, Microsoft Teams, Matrix, Telegram, Discord,
ntfy, Mattermost, ... about a hundred): a short Markdown message for each change or digest.

The message says what a reader in a chat needs at a glance: the country, each source with
its changed sections, the "Last Updated" date old -> new, the first changed lines with their
words marked (**added**, ~~removed~~), and a link to the whole change on the web. Remote text
is escaped for Markdown, so a page cannot inject links or formatting into the chat.

apprise answers only "delivered" or "not": a failure is retried with the outbox's backoff
until `mail.give_up_after`. Its own log lines can quote a channel's URL (which holds the
token), so they are never shown; the reason recorded names the channel alone.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime

from watcher.config import Config
from watcher.config.loader import Channel
from watcher.diff import DiffLine, FeedChange, PageChange
from watcher.errors import DeliveryError
from watcher.notify.channels.kind import SenderTransport, Transport, composed
from watcher.notify.composed import Composed
from watcher.notify.parts import Composing
from watcher.render.view import line_marks, line_note
from watcher.store.changes import ChangeRecord
from watcher.store.messages import Message
from watcher.store.subscribers import Subscriber

logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)  # its lines may hold tokens
LINES = 5  # changed lines shown per source
ENTRIES = 5  # feed entries shown per source
MAX_LINE = 300  # characters of one line shown
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


class AppriseKind:
    name = "apprise"

    def change_messages(
        self,
        readers: Sequence[Subscriber],
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
        parts: Composing,
    ) -> list[Composed]:
        title = f"{parts.config.country_name(country)}: what changed"
        payload = {"title": title, "body": render(records, parts.config)}
        return [composed(reader, title, payload) for reader in readers]

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        parts: Composing,
    ) -> Composed:
        config = parts.config
        label = "Daily" if reader.frequency == "daily" else "Weekly"
        day = f"{period_end:%Y-%m-%d}"
        countries: dict[str, list[ChangeRecord]] = {}
        for record in records:
            countries.setdefault(record.country, []).append(record)
        sections = [
            f"**{escape(config.country_name(code))}**\n\n{render(found, config)}"
            for code, found in countries.items()
        ]
        return composed(
            reader,
            f"{label} digest, {day}",
            {"title": f"{label} digest, {day}", "body": "\n\n".join(sections)},
        )

    def transport(self, parts: Composing) -> Transport:
        return SenderTransport(parts, AppriseSender())


def render(records: Sequence[ChangeRecord], config: Config) -> str:
    """One country's changes as chat Markdown."""
    public = config.settings.service.public_url
    blocks = []
    for record in records:
        lines = [f"**{escape(record.source_name)}**"]
        change = record.change
        if isinstance(change, PageChange):
            lines += [escape(phrase) for phrase in change.phrases()]
            shown = [line for hunk in change.hunks for line in hunk if line.op != "context"]
            for line in shown[:LINES]:
                lines.append(_page_line(line, change.title))
            if len(shown) > LINES:
                lines.append(f"… and {len(shown) - LINES} more lines")
        elif isinstance(change, FeedChange):
            for item in change.entries[:ENTRIES]:
                status = "New" if item.status == "new" else "Updated"
                lines.append(f"{status}: {escape(_cut(item.entry.title))}")
            if len(change.entries) > ENTRIES:
                lines.append(f"… and {len(change.entries) - ENTRIES} more entries")
        lines.append(f"[The whole change]({public}/changes/{record.id})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _page_line(line: DiffLine, title: str | None) -> str:
    note = line_note(line, title)
    suffix = f" _({escape(note)})_" if note else ""
    if line.op in ("changed", "moved"):
        text = "".join(
            escape(part) if op == "=" else _wrap(part, "**" if op == "+" else "~~")
            for op, part in line_marks(line)
            if part
        )
        return f"{'~' if line.op == 'changed' else '→'} {_cut(text)}{suffix}"
    sign = {"added": "\\+", "removed": "\\-"}.get(line.op, " ")  # no list
    return f"{sign} {escape(_cut(line.text))}{suffix}"


def _wrap(part: str, marker: str) -> str:
    """Emphasis around the words only: Markdown ignores `** x**`."""
    core = part.strip()
    if not core:
        return escape(part)
    lead = " " if part[:1].isspace() else ""
    trail = " " if part[-1:].isspace() else ""
    return f"{lead}{marker}{escape(core)}{marker}{trail}"


def escape(text: str) -> str:
    """Remote text as literal Markdown: no link, emphasis or heading can come from a page."""
    return _MARKDOWN.sub(r"\\\1", re.sub(r"\s+", " ", text))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


class AppriseSender:
    async def send(self, message: Message, channel: Channel) -> None:
        import apprise

        payload = json.loads(message.body)
        sender = apprise.Apprise()
        if not sender.add(channel.url):
            raise DeliveryError(f"channel {channel.name}: not a URL apprise knows", permanent=True)
        delivered = await sender.async_notify(
            title=payload["title"], body=payload["body"], body_format=apprise.NotifyFormat.MARKDOWN
        )
        if not delivered:
            raise DeliveryError(
                f"channel {channel.name}: apprise could not deliver it", permanent=False
            )

    async def close(self) -> None:
        pass
