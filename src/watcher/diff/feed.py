"""Two feed documents -> a FeedChange: new entries and entries updated in place."""

from __future__ import annotations

from watcher.diff.change import EntryChange, FeedChange
from watcher.extract.document import FeedDocument

# How many keys of entries that left the feed are remembered, so that their return is no news.
SEEN_LIMIT = 2000


def diff_feeds(old: FeedDocument, new: FeedDocument) -> tuple[FeedChange | None, FeedDocument]:
    """The change from `old` to `new`, and `new` carrying the memory of entries seen before."""
    before = {entry.key: entry for entry in old.entries}
    seen = set(old.seen)
    changes: list[EntryChange] = []
    for entry in new.entries:
        previous = before.get(entry.key)
        if previous is None:
            if entry.key not in seen:
                changes.append(EntryChange("new", entry))
        elif (entry.title, entry.summary, entry.date) != (
            previous.title,
            previous.summary,
            previous.date,
        ):
            changes.append(EntryChange("updated", entry, previous))
    current = {entry.key for entry in new.entries}
    departed = [entry.key for entry in old.entries if entry.key not in current]
    remembered = departed + [key for key in old.seen if key not in current]
    kept = FeedDocument(entries=new.entries, title=new.title, seen=tuple(remembered[:SEEN_LIMIT]))
    change = FeedChange(title=new.title, entries=tuple(changes)) if changes else None
    return change, kept
