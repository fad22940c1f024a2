"""Compose emails from recorded changes: jinja2 templates, inlined CSS, the right headers.

Templates live in `watcher/notify/templates`; a file of the same name in the `templates`
folder beside the configuration file takes precedence, so an operator can restyle mail
without touching the code. HTML templates are autoescaped: remote text is always escaped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader

from watcher.config import Config, Source
from watcher.diff import PageChange
from watcher.diff.interest import keyword_pattern
from watcher.notify.composed import HOLES, PLACEHOLDER, Composed, Personal
from watcher.notify.filters import marked_keywords, marked_keywords_text, safe_url
from watcher.notify.links import Links, make_token
from watcher.notify.mime import (
    Body,
    build_message,
    clean_header,
    domain_of,
    list_domain,
    new_message_id,
    quoted_printable,
)
from watcher.notify.updates import CountryUpdate, SourceUpdate, change_subject, preheader
from watcher.render.templates import environment
from watcher.render.text import change_body
from watcher.render.view import page_view
from watcher.store.changes import ChangeRecord
from watcher.store.sources import SourceState
from watcher.store.subscribers import Subscriber

MAX_BYTES = 95_000  # "well under 100 KB", headers and encoding included
LIMITS = (1.0, 0.5, 0.25, 0.1, 0.0)  # shares of max_diff_lines tried until a message fits
RENDERINGS_KEPT = 256  # change renderings kept for the next batch of readers


class Composer:
    def __init__(self, config: Config) -> None:
        self.config = config
        settings = config.settings
        self.mail = settings.mail
        self.zone = ZoneInfo(settings.service.timezone)
        self.links = Links(settings.service.public_url)
        self.domain = domain_of(self.mail.from_, settings.service.public_url)
        self.list_domain = list_domain(self.mail.list_id, settings.service.public_url)
        self.list_name = clean_header(_display_name(self.mail.from_) or "watcher", 80)
        loaders: list[Any] = []
        if config.directory is not None:
            loaders.append(FileSystemLoader(config.directory / "templates"))
        loaders.append(PackageLoader("watcher.notify", "templates"))
        self.env = environment(
            ChoiceLoader(loaders),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["safe_url"] = safe_url
        self.env.filters["keywords"] = marked_keywords
        self.env.filters["keywords_text"] = marked_keywords_text
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self._kept: dict[tuple[object, ...], tuple[str, Body, Body]] | None = None

    @contextmanager
    def keeping_renderings(self) -> Iterator[None]:
        """While the outbox composes (its changes read from the log, one `now`), a change's
        rendering for one kind of reader is kept for the next batch of such readers."""
        self._kept = {}
        try:
            yield
        finally:
            self._kept = None

    # -- what subscribers get ------------------------------------------------------------

    def change_message(
        self, subscriber: Subscriber, country: str, records: Sequence[ChangeRecord], now: datetime
    ) -> Composed:
        """One country's changes of one pass, for an "immediate" subscriber."""
        return self.change_messages([subscriber], country, records, now)[0]

    def change_messages(
        self,
        readers: Sequence[Subscriber],
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
    ) -> list[Composed]:
        """The same news for many readers: rendered once, then given each reader's details.

        The readers share what they follow of `country` (`Interest.key`), so `records` are
        the same part of the same changes for each; within `keeping_renderings`, the
        rendering is also kept for the next group with that key."""
        name = self.config.country_name(country)
        if not readers:
            return []
        keywords = readers[0].keywords  # the same for the whole group
        key = (country, tuple(r.id for r in records), readers[0].interest.key(country), now)
        kept = self._kept
        rendered = kept.pop(key, None) if kept is not None else None
        if rendered is None:
            rendered = self._render_change(name, country, records, keywords, now)
        if kept is not None:
            kept[key] = rendered  # the most recent last
            while len(kept) > RENDERINGS_KEPT:
                kept.pop(next(iter(kept)))
        subject, text_body, html_body = rendered
        return [
            self._message(
                reader,
                subject,
                text_body,
                html_body,
                now,
                kind="change",
                list_id=f"{name} updates <{country.lower()}.{self.list_domain}>",
                thread=f"<updates.{country.lower()}@{self.domain}>",
            )
            for reader in readers
        ]

    def _render_change(
        self,
        name: str,
        country: str,
        records: Sequence[ChangeRecord],
        keywords: Sequence[str],
        now: datetime,
    ) -> tuple[str, Body, Body]:

        def render(limit: int) -> tuple[str, str, str]:
            update = self._country(country, records, limit)
            subject = change_subject(update)
            context = self._context(PLACEHOLDER, "immediate", [update], subject, now)
            context["title"] = f"{name}: what changed"
            context["keyword_pattern"] = keyword_pattern(keywords)
            return (subject, *self.render("change", context))

        subject, text, html = self._fitting(render)
        return subject, Body.encode(text, HOLES), Body.encode(html, HOLES)

    def digest_message(
        self,
        subscriber: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
    ) -> Composed:
        """Every change of the period, grouped by country, for a daily or weekly subscriber."""
        order = {country.code: n for n, country in enumerate(self.config.settings.countries)}
        by_country = sorted({r.country for r in records}, key=lambda c: (order.get(c, 999), c))
        label = "Daily" if subscriber.frequency == "daily" else "Weekly"
        day = period_end.astimezone(self.zone).strftime("%-d %B %Y")

        def render(limit: int) -> tuple[str, str, str]:
            updates = [
                self._country(code, [r for r in records if r.country == code], limit)
                for code in by_country
            ]
            names = ", ".join(update.name for update in updates)
            subject = f"{label} digest, {day}: {names}"
            context = self._context(PLACEHOLDER, subscriber.frequency, updates, subject, now)
            context["keyword_pattern"] = keyword_pattern(subscriber.keywords)
            count = len(records)
            context["title"] = f"{label} digest: {count} change{'s' if count != 1 else ''}"
            return (subject, *self.render("digest", context))

        subject, text, html = self._fitting(render)
        return self._message(
            subscriber,
            subject,
            Body.encode(text, HOLES),
            Body.encode(html, HOLES),
            now,
            kind="digest",
            list_id=f"{label} digest <{subscriber.frequency}.{self.list_domain}>",
            thread=f"<digest.{subscriber.frequency}@{self.domain}>",
        )

    def alert_message(
        self, recipient: str, source: Source, state: SourceState, now: datetime
    ) -> Composed:
        """Tell the operator that a source keeps failing."""
        subject = f"watcher: {source.id} has failed {state.failures} checks in a row"
        text = self.env.get_template("alert.txt").render(
            source=source,
            state=state,
            since=self._when(state.failing_since or now),
            next_attempt=self._when(state.next_check_at),
            links=self.links,
        )
        return self.plain_message(
            recipient,
            subject,
            text,
            now,
            kind="alert",
            thread=f"<alerts.{source.id}@{self.domain}>",
        )

    def plain_message(
        self,
        recipient: str,
        subject: str,
        text: str,
        now: datetime,
        *,
        kind: str,
        thread: str | None = None,
    ) -> Composed:
        """A plain-text message to the operator or an editor (alerts, invitations)."""
        message_id = new_message_id(self.domain, kind)
        body = build_message(
            sender=self.mail.from_,
            recipient=recipient,
            subject=subject,
            text=quoted_printable(text),
            html=None,
            message_id=message_id,
            date=now,
            thread_root=thread,
        )
        return Composed(recipient, clean_header(subject), message_id, body)

    # -- the parts ------------------------------------------------------------------------

    def _fitting(self, render: Any) -> tuple[str, str, str]:
        """Render with the full diff; while the message would be too big, show fewer lines."""
        subject, text, html = render(self.mail.max_diff_lines)
        for share in LIMITS[1:]:
            # Quoted-printable grows text by about a tenth; headers and links add a little.
            if 1.15 * len((text + html).encode()) + 4000 <= MAX_BYTES:
                break
            subject, text, html = render(int(self.mail.max_diff_lines * share))
        return subject, text, html

    def _country(self, code: str, records: Sequence[ChangeRecord], limit: int) -> CountryUpdate:
        update = CountryUpdate(code, self.config.country_name(code))
        for record in sorted(records, key=lambda r: (r.kind != "page", r.source_id, r.id)):
            change = record.change
            view = (
                page_view(change, limit=limit, shorten=True)
                if isinstance(change, PageChange)
                else None
            )
            lines = list(change_body(change, limit=limit, shorten=True))
            url = self.links.change(record.id)
            update.updates.append(SourceUpdate(record, url, view, lines, self._span(record)))
        return update

    def _span(self, record: ChangeRecord) -> str:
        """What a digest's net change stands for: `Changed 3 times between 2 March, 09:00
        and 4 March, 13:00; shown as one change, ...`."""
        if not record.merged or record.since is None:
            return ""

        def when(moment: datetime) -> str:
            return moment.astimezone(self.zone).strftime("%-d %B, %H:%M")

        return (
            f"Changed {len(record.merged)} times between {when(record.since)} and"
            f" {when(record.detected_at)}; shown as one change, from the version you were"
            " last told of to the newest."
        )

    def _context(
        self,
        personal: Personal,
        frequency: str,
        countries: list[CountryUpdate],
        subject: str,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "subject": subject,
            "preheader": "; ".join(preheader(country) for country in countries),
            "countries": countries,
            "subscriber": {"email": personal.email, "frequency": frequency},
            "following": personal.following,
            "list_name": self.list_name,
            "links": self.links,
            "unsubscribe_url": personal.unsubscribe_url,
            "manage_url": personal.manage_url,
            "when": self._when(now),
            "date": self._date,
        }

    def render(self, kind: str, context: dict[str, Any]) -> tuple[str, str]:
        """The text and HTML of templates `{kind}.txt` and `{kind}.html` (CSS inlined)."""
        text = self.env.get_template(f"{kind}.txt").render(context)
        html = self.inliner.inline(self.env.get_template(f"{kind}.html").render(context))
        return text, html

    def personal(self, subscriber: Subscriber) -> Personal:
        """A reader's address, what they follow in words, and their own links."""
        token = make_token(subscriber.id, subscriber.token)
        return Personal(
            email=subscriber.email,
            following=self.following(subscriber),
            unsubscribe_url=self.links.unsubscribe(token),
            manage_url=self.links.manage(token),
        )

    def _message(
        self,
        subscriber: Subscriber,
        subject: str,
        text: Body,
        html: Body,
        now: datetime,
        *,
        kind: str,
        list_id: str,
        thread: str,
    ) -> Composed:
        personal = self.personal(subscriber)
        message_id = new_message_id(self.domain, kind)
        body = build_message(
            sender=self.mail.from_,
            recipient=subscriber.email,
            subject=subject,
            text=text.fill(personal.values(html=False)),
            html=html.fill(personal.values(html=True)),
            message_id=message_id,
            date=now,
            list_id=list_id,
            unsubscribe=self._unsubscribe(personal),
            thread_root=thread,
        )
        return Composed(subscriber.email, clean_header(subject), message_id, body)

    def following(self, subscriber: Subscriber) -> str:
        """What a reader follows, in words (`describe`), and whether only notable changes."""
        said = self.describe(
            subscriber.countries, subscriber.sections, subscriber.keywords, subscriber.quiet
        )
        return f"{said}: only notable changes" if subscriber.notable else said

    def describe(
        self,
        countries: Sequence[str],
        chosen: Sequence[tuple[str, str]] = (),
        keywords: Sequence[str] = (),
        quiet: Sequence[str] = (),
    ) -> str:
        """Choices in words: `Vietnam (Mine Ban Policy, and its news), Cluster Munition Ban
        Policy in every country, the keywords "accede", "Ottawa"`. A country's news comes
        with its sections unless the reader turned it off (`quiet`)."""
        sections: dict[str, list[str]] = {}
        for code, section in chosen:
            sections.setdefault(code, []).append(section)
        parts = []
        if "*" in countries:
            parts.append("every country")
        order = {country.code: n for n, country in enumerate(self.config.settings.countries)}

        def news(code: str) -> str:
            return "; not its news" if code in quiet else ", and its news"

        for code in sorted(countries, key=lambda code: (order.get(code, 999), code)):
            if code != "*":
                name = self.config.country_name(code)
                names = sections.pop(code, None)
                parts.append(f"{name} ({', '.join(names)}{news(code)})" if names else name)
        for code, names in sections.items():
            if code == "*":
                parts.append(f"{', '.join(names)} in every country")
            else:
                name = self.config.country_name(code)
                told = f"not {name}'s news" if code in quiet else f"and {name}'s news"
                parts.append(f"{', '.join(names)} of {name}, {told}")
        if keywords:
            words = ", ".join(f'"{word}"' for word in keywords)
            parts.append(f"the keyword{'s' if len(keywords) > 1 else ''} {words}")
        return ", ".join(parts) or "nothing"

    def _unsubscribe(self, personal: Personal) -> list[str]:
        targets = [personal.unsubscribe_url]
        if self.mail.unsubscribe_mailto:
            targets.append(f"mailto:{self.mail.unsubscribe_mailto}?subject=unsubscribe")
        return targets

    def when_text(self, moment: datetime) -> str:
        """A moment as readers read it: `1 December 2026, 09:00 CET`."""
        return self._when(moment)

    def _when(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%-d %B %Y, %H:%M %Z")

    def _date(self, iso: str) -> str:
        try:
            return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%-d %B %Y")
        except ValueError:
            return iso


def _display_name(sender: str) -> str:
    return parseaddr(sender)[0]
