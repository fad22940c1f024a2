"""A cache of resolved configurations: a big file read again unchanged is not parsed,
validated and resolved again (100,000 sources: ~3 s of a process's start-up).

Content-addressed, as Python's bytecode cache is: an entry is named by a hash of the file's
bytes, watcher's version, the code of `watcher.config` itself and that of the rules it was
checked with (`config/rules.py`), so an edit, an upgrade or a change to this code reads the
file afresh; nothing is ever invalidated by hand. The entry
holds the file's tables without their sources, a fingerprint of the settings the sources were
resolved with (`[checks]`, which the environment may override) and the resolved sources,
column by column (a value shared by every source stored once). It is JSON: loading it runs
no code, unlike pickle, and it never holds the environment's values (secrets come from
there). Files under `MIN_BYTES` are not cached: they are read in milliseconds.

The folder: `$WATCHER_CACHE_DIR`, else `$XDG_CACHE_HOME/watcher`, else `~/.cache/watcher`.
A cache that cannot be read or written (a read-only home, a damaged entry) is skipped: the
file is read as if there were none.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import watcher
from watcher.config.model import Settings
from watcher.config.rules import Rules
from watcher.config.sources import Source

log = logging.getLogger("watcher.config")

MIN_BYTES = 128_000  # ~1,000 sources
KEEP = 4  # entries kept in the folder (a few files, or a few versions of one)
FORMAT = 1
_FIELDS = tuple((field.name, str(field.type)) for field in fields(Source))


@dataclass(frozen=True)
class Entry:
    """A file's tables (without sources) and its sources as resolved."""

    data: dict[str, Any]
    fingerprint: str
    count: int
    columns: dict[str, Any]

    def fits(self, settings: Settings) -> bool:
        """Were the sources resolved with these settings (the environment may differ)?"""
        return self.fingerprint == fingerprint(settings)

    def sources(self) -> tuple[Source, ...]:
        columns: list[Iterable[Any]] = []
        for name, kind in _FIELDS:
            column = self.columns[name]
            if "same" in column:
                columns.append(itertools.repeat(_value(kind, column["same"]), self.count))
            else:
                values = column["each"]
                if len(values) != self.count:
                    raise ValueError(f"{name}: {len(values)} values for {self.count} sources")
                columns.append(values if kind == "str" else [_value(kind, v) for v in values])
        return tuple(map(Source, *columns))


def fingerprint(settings: Settings) -> str:
    """What, beside the file, the resolved sources depend on."""
    shape = f"{settings.checks.model_dump_json()}\0{settings.service.keep_snapshots}"
    return hashlib.sha256(shape.encode()).hexdigest()


def folder(environ: Mapping[str, str]) -> Path:
    if environ.get("WATCHER_CACHE_DIR"):
        return Path(environ["WATCHER_CACHE_DIR"])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "watcher"
    return Path(environ.get("HOME") or Path.home()) / ".cache" / "watcher"


def _name(raw: bytes, rules: Rules) -> str:
    digest = hashlib.sha256()
    code = f"{_code_digest()}\0{rules.fingerprint()}"
    digest.update(f"{FORMAT}\0{watcher.__version__}\0{code}\0".encode())
    digest.update(raw)
    return f"config-{digest.hexdigest()}.json"


@cache
def _code_digest() -> str:
    """The code that turns a file into a configuration: another version of it, another key."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load(raw: bytes, environ: Mapping[str, str], rules: Rules) -> Entry | None:
    """The entry of a file with these bytes, if there is a usable one."""
    if len(raw) < MIN_BYTES:
        return None
    path = folder(environ) / _name(raw, rules)
    try:
        found = json.loads(path.read_bytes())
        entry = Entry(found["data"], found["fingerprint"], found["count"], found["columns"])
        if not isinstance(entry.data, dict) or set(entry.columns) != {n for n, _ in _FIELDS}:
            raise ValueError("not an entry of this version")
        return entry
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged
        log.debug("the configuration cache %s is not usable (%r): reading the file", path, exc)
        return None


def save(
    raw: bytes,
    environ: Mapping[str, str],
    rules: Rules,
    data: dict[str, Any],
    settings: Settings,
    sources: tuple[Source, ...],
) -> None:
    """Keep `data` (the file's tables, without sources) and the sources resolved with
    `settings` from the file `raw`."""
    if len(raw) < MIN_BYTES:
        return
    where = folder(environ)
    columns: dict[str, Any] = {}
    for name, _ in _FIELDS:
        values = [_plain(getattr(source, name)) for source in sources]
        same = bool(values) and all(value == values[0] for value in values)
        columns[name] = {"same": values[0]} if same else {"each": values}
    entry = {
        "data": data,
        "fingerprint": fingerprint(settings),
        "count": len(sources),
        "columns": columns,
    }
    temporary: str | None = None
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".config-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
            json.dump(entry, out, separators=(",", ":"))
        os.replace(temporary, where / _name(raw, rules))
        temporary = None
        _prune(where)
    except (OSError, TypeError, ValueError) as exc:  # a read-only folder; a TOML date
        log.debug("the configuration cache %s cannot be written (%s)", where, exc)
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _prune(where: Path) -> None:
    entries = sorted(where.glob("config-*.json"), key=lambda path: path.stat().st_mtime)
    for old in entries[:-KEEP]:
        old.unlink(missing_ok=True)


def _plain(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _value(kind: str, value: Any) -> Any:
    """A JSON value back as the `Source` field of type `kind` holds it."""
    if value is None:
        return None
    if "timedelta" in kind:
        return timedelta(seconds=value)
    if kind.startswith("tuple"):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return value
