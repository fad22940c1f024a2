"""A source's history for the desk: its stored versions, one version's text, and any two
versions compared, as the change page shows a change (the web pages, the API and
`watcher history` alike). Comparing runs in the extraction pool (`diff/compared.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.app import App
from watcher.diff import Change
from watcher.diff.compared import Unlike, compare
from watcher.errors import WatcherError
from watcher.extract.preview import sections_of
from watcher.store import read_transaction
from watcher.store.changes import Version, versions


class NoSuchVersion(WatcherError):
    """The source has no stored version of that id (pruned, or another source's)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    old: Version
    new: Version
    change: Change | None  # None: the two read the same

    @property
    def summary(self) -> str:
        if self.change is None:
            return "no difference"
        return self.change.summary()


def line_count(version: Version) -> int:
    return sum(len(section.lines) for section in sections_of(version.document))


async def history(app: App, source_id: str) -> list[Version]:
    """The source's stored versions, newest first."""
    async with read_transaction(app.engine) as connection:
        return await versions(connection, source_id)


def version_of(found: list[Version], version_id: int) -> Version:
    for version in found:
        if version.id == version_id:
            return version
    raise NoSuchVersion(f"no version {version_id} of this source is kept")


async def compare_versions(app: App, source_id: str, old_id: int, new_id: int) -> Comparison:
    """What changed from version `old_id` to `new_id` of the source (either order works:
    the older is shown as before). Raises `NoSuchVersion`, or the pool's `CheckError`."""
    found = await history(app, source_id)
    old, new = version_of(found, old_id), version_of(found, new_id)
    if old.taken_at > new.taken_at or (old.taken_at == new.taken_at and old.id > new.id):
        old, new = new, old
    deadline = app.settings.checks.extract_timeout.total_seconds()
    try:
        change = await compare(app.extraction, deadline, old.document, new.document)
    except Unlike:
        raise NoSuchVersion("a page version and a feed version cannot be compared") from None
    return Comparison(old, new, change)
