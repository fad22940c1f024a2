"""What the desk refuses, one branch of watcher's error tree (`watcher/errors.py`): each
message says why, for the operator, and the web, the API and the command line show it as it
is (404, 409 or an exit status)."""

from __future__ import annotations

from watcher.errors import WatcherError


class DeskError(WatcherError):
    """A desk action that cannot be done; the message says why, for the operator."""


class NoSuchSource(DeskError):
    """No source of that id (or, for an edit, none the desk has)."""


class OwnedByFile(DeskError):
    """The source is the configuration file's: it is edited there (the message names it)."""


class SourceExists(DeskError):
    """A source of that id exists already."""


class NoSuchReader(DeskError):
    """No subscriber has that address."""
