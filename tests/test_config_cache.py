"""The cache of resolved configurations (`config/cache.py`): a big file read again unchanged
is not parsed, validated and resolved again; any change to it, to the environment or to
watcher makes it be read afresh; a cache that cannot be used is never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import watcher.config.loader
from watcher.config import ConfigError
from watcher.config.cache import MIN_BYTES
from watcher.loading import load_config

SECRET = "hunter2-mail-password"


def big_config(path: Path, count: int = 3000, *, url_of_first: str = "") -> Path:
    lines = ["[service]", 'database = "sqlite:///w.db"', "[checks]", 'interval = "6h"']
    for start in range(0, count, 100):
        lines += ["[[countries]]", f'code = "C{start // 100:03d}"', f'name = "Country {start}"']
        for n in range(start, min(start + 100, count)):
            url = url_of_first if n == 0 and url_of_first else f"https://monitor.example/p/{n}"
            lines += ["[[countries.sources]]", f'id = "s{n:05d}"', f'url = "{url}"']
            if n % 7 == 0:
                lines += ['select = "#content"', 'ignore = ["Visits: \\\\d+"]']
                lines += ['headers = { "X-Team" = "monitor" }', 'interval = "90m"']
    lines += ["[[subscribers]]", 'email = "a@example.org"', 'countries = ["C000"]']
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size >= MIN_BYTES  # big enough to be cached
    return path


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"WATCHER_CACHE_DIR": str(tmp_path / "cache"), "WATCHER_MAIL__PASSWORD": SECRET}


def unresolvable(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, resolving a source fails: only the cache can answer."""

    def refuse(*_: object) -> None:
        raise AssertionError("the configuration was resolved again")

    monkeypatch.setattr(watcher.config.loader, "resolve_source", refuse)


def test_a_big_file_read_again_comes_from_the_cache_the_same(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = big_config(tmp_path / "watcher.toml")
    first = load_config(path, environ)
    (cached,) = (tmp_path / "cache").iterdir()
    assert cached.stat().st_mode & 0o777 == 0o600
    assert SECRET not in cached.read_text()  # the environment's secrets never go to disk
    unresolvable(monkeypatch)
    elsewhere = load_config(path, {**environ, "WATCHER_SERVICE__LISTEN": "127.0.0.1:9999"})
    assert elsewhere.settings.service.listen == "127.0.0.1:9999"  # not what sources depend on
    again = load_config(path, environ)
    assert again.sources == first.sources
    assert again.settings == first.settings
    assert again.settings.mail.password is not None
    assert again.settings.mail.password.get_secret_value() == SECRET
    source = again.source("s00007")
    assert source is not None
    assert source.headers == (("X-Team", "monitor"),)
    assert source.ignore == ("Visits: \\d+",)
    assert source.interval is not None
    assert source.interval.total_seconds() == 5400


def test_an_edit_the_environment_or_another_release_reads_the_file_afresh(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = big_config(tmp_path / "watcher.toml")
    load_config(path, environ)
    big_config(path, url_of_first="https://monitor.example/moved")
    source = load_config(path, environ).source("s00000")
    assert source is not None
    assert source.url == "https://monitor.example/moved"
    timeout = load_config(path, {**environ, "WATCHER_CHECKS__TIMEOUT": "7s"}).source("s00001")
    assert timeout is not None
    assert timeout.timeout.total_seconds() == 7
    monkeypatch.setattr(watcher, "__version__", "99.0")
    unresolvable(monkeypatch)
    with pytest.raises(AssertionError, match="resolved again"):
        load_config(path, environ)


def test_a_cache_that_cannot_be_used_is_never_an_error(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    path = big_config(tmp_path / "watcher.toml")
    first = load_config(path, environ)
    (cached,) = (tmp_path / "cache").iterdir()
    for damage in ("{not json", json.dumps({"sources": [["too", "short"]]}), ""):
        cached.write_text(damage)
        assert load_config(path, environ).sources == first.sources
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    elsewhere = {**environ, "WATCHER_CACHE_DIR": str(locked / "cache")}
    if os.geteuid() != 0:  # root writes anywhere
        assert load_config(path, elsewhere).sources == first.sources


def test_a_file_with_mistakes_is_refused_every_time_never_cached(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    path = big_config(tmp_path / "watcher.toml")
    path.write_text(path.read_text().replace('interval = "90m"', 'interval = "soon"', 1))
    for _ in range(2):
        with pytest.raises(ConfigError, match="interval"):
            load_config(path, environ)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
