"""What telling people uses of the running program, and nothing more. A channel composes
and delivers with the configuration and the email composer (`Composing`); the outbox also
uses what every part on the database does (`Telling`: `store/running.py`).
`watcher.app.App` is both; a test may hand in another."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from watcher.config import Config, Settings
from watcher.extract.bounded import BoundedPool
from watcher.store.running import Running

if TYPE_CHECKING:
    from watcher.notify.compose import Composer


class Composing(Protocol):
    @property
    def config(self) -> Config: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def composer(self) -> Composer:
        """The email composer (its templates loaded on first use)."""
        ...


class Telling(Composing, Running, Protocol):
    @property
    def extraction(self) -> BoundedPool:
        """Where remote text is read and compared, bounded (a digest's net changes)."""
        ...
