"""What the configuration learns from the layers above it: the rules of the kinds of source
and of channel, handed in by whoever reads the file (`watcher/loading.py` gives the
registries': `extract/kinds/`, `notify/channels/`), so that `config/` imports nothing of
watcher above it.

The file's own rules (types, ranges, durations, addresses, references between tables) stay
in `config/model.py` and `config/loader.py`; these are applied as the file is read, and every
problem they find names its key as the others do.
"""

from __future__ import annotations

from typing import Protocol

from watcher.config.model import SourceConfig


class Rules(Protocol):
    def fingerprint(self) -> str:
        """A digest of the rules' own code: a cached configuration checked by other rules is
        read afresh (`config/cache.py`)."""
        ...

    def source_kind(self, source: SourceConfig) -> str:
        """The kind a source is: its `kind`, or for `auto` the kind its options claim."""
        ...

    def source_problems(self, source: SourceConfig) -> list[tuple[str, str]]:
        """What is wrong with a source, as (the key under it, "" for the whole source;
        the problem)."""
        ...

    def channel_kind(self, url: str) -> str:
        """The kind of channel a URL reaches ("webhook", "apprise")."""
        ...

    def channel_problem(self, url: str) -> str | None:
        """What is wrong with a channel's URL, never quoting it (it holds secrets)."""
        ...

    def channel_secret(self, kind: str) -> int:
        """The length of signing secret a channel of this kind needs at least (0: none)."""
        ...
