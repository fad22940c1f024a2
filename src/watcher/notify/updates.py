"""What a message says of each country: its sources' updates, and the subject line."""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.diff import FeedChange, Headline, PageChange
from watcher.diff.summary import page_figures
from watcher.render.view import PageView
from watcher.store.changes import ChangeRecord

SUBJECT_CHARS = 100  # a figure is named in the subject only when it fits within this


@dataclass
class SourceUpdate:
    record: ChangeRecord
    url: str
    view: PageView | None
    text_lines: list[str]
    span: str = ""  # a digest's net change: the changes it stands for, and when

    @property
    def page(self) -> PageChange | None:
        return self.record.change if isinstance(self.record.change, PageChange) else None

    @property
    def feed(self) -> FeedChange | None:
        return self.record.change if isinstance(self.record.change, FeedChange) else None


@dataclass
class CountryUpdate:
    code: str
    name: str
    updates: list[SourceUpdate] = field(default_factory=list)

    def headlines(self) -> list[Headline]:
        found: dict[str, Headline] = {}
        for update in self.updates:
            for headline in update.page.headlines() if update.page else []:
                if headline.name not in found or headline.status != "changed":
                    found[headline.name] = headline
        return list(found.values())

    def entry_count(self) -> int:
        return sum(len(update.feed.entries) for update in self.updates if update.feed)


def change_subject(country: CountryUpdate) -> str:
    """`Vietnam: country profile updated (Mine Ban Policy, Cluster Munition Ban Policy)`, and
    the first figure the change names when the subject stays short: `· Casualties: 56 → 57`."""
    headlines = [headline.name for headline in country.headlines()]
    pages = [update.page for update in country.updates if update.page]
    if pages:
        named = [document.phrase for page in pages for document in page.documents]
        named = (named + [str(figure) for page in pages for figure in page_figures(page)])[:1]
        figure = f" · {named[0]}" if named else ""
        if headlines:
            subject = f"{country.name}: country profile updated ({', '.join(headlines)})"
            return subject + figure if len(subject + figure) <= SUBJECT_CHARS else subject
        dates = [page.updated_new for page in pages if page.updated and page.updated_new]
        suffix = f" (Last Updated {dates[0]})" if dates else ""
        subject = f"{country.name}: country profile updated{suffix}"
        return subject + figure if len(subject + figure) <= SUBJECT_CHARS else subject
    entries = [item for update in country.updates if update.feed for item in update.feed.entries]
    if len(entries) == 1:
        item = entries[0]
        what = "new entry" if item.status == "new" else "entry updated"
        return f"{country.name}: {what}: {item.entry.title}"
    return f"{country.name}: {len(entries)} new or updated news items"


def preheader(country: CountryUpdate) -> str:
    parts = [headline.name for headline in country.headlines()]
    if country.entry_count():
        parts.append(f"{country.entry_count()} news item{'s' if country.entry_count() > 1 else ''}")
    return f"{country.name}: {', '.join(parts)}" if parts else country.name
