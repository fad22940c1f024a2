"""Sources as plain data: every effective setting of one watched URL, defaults applied.

A `Source` is what the rest of the program works with; it never looks back at the raw
configuration models.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from watcher.config.model import CountryConfig, Settings, SourceConfig


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    country: str
    country_name: str
    url: str
    name: str
    kind: str  # "auto", or a kind of extract/kinds/
    select: str | None
    exclude: tuple[str, ...]
    ignore: tuple[str, ...]
    match: str | None
    updated_pattern: str
    interval: timedelta | None
    cron: str | None
    timeout: timedelta
    max_bytes: int
    headers: tuple[tuple[str, str], ...] = field(default=())
    allow_private: bool = False  # may a redirect to another host lead into private space
    content: str = "all"  # a page without `select`: "all" of its body, or its "main" content
    compared_versions: int = 1  # a page back to one of its last N versions is not news
    recheck_after: timedelta = timedelta(0)  # after a change, fetch again and learn noise
    fetch: str = "http"  # or "browser": rendered by headless Chromium (fetch/browser.py)
    extract_timeout: timedelta = timedelta(seconds=10)  # reading and comparing, at most
    key: str | None = None  # JSON: the field that names a list's items
    documents: str | None = None  # a page: the pattern of the linked documents it follows
    max_documents: int = 20  # a page: at most this many linked documents watched
    found_on: str | None = None  # a linked document: the page source that links to it
    public_only: bool = False  # its host must be public (a linked document on another host)

    @property
    def extract_key(self) -> str:
        """Fingerprint of the settings that shape the stored document.

        When an operator edits `select`, `ignore` or the URL, the next check records a fresh
        baseline instead of reporting the edit as a change of the page.
        """
        main = ("main",) if self.content == "main" and self.select is None else ()
        if self.fetch == "browser":  # the rendered page is another document than the HTML
            main = (*main, "browser")
        return _extract_key(  # "all", the default, leaves the key as it always was
            self.url,
            self.kind,
            self.select,
            self.exclude,
            self.ignore,
            self.match,
            self.updated_pattern,
            *main,
            *((("key", self.key),) if self.key else ()),  # none: the key as it always was
            *((("documents", self.documents),) if self.documents else ()),
        )


@lru_cache(maxsize=65_536)
def _extract_key(*shape: object) -> str:
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def derive_source_id(country: str, url: str) -> str:
    """A readable id that stays the same as long as the country and URL do: `vn-vietnam-3f2a1c`."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    stem = segments[-1] if segments else (parts.hostname or "home")
    stem = re.sub(r"\.(html?|php|aspx?|jsp|rss|atom|xml|rdf)$", "", stem, flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:40] or "home"
    digest = hashlib.sha256(f"{country}|{url}".encode()).hexdigest()[:6]
    return f"{country.lower()}-{slug}-{digest}"


# An http(s) URL's host (without user or port) and path: urlsplit's answer for the URLs the
# configuration accepts, at a tenth of its cost (it counted at 100,000 sources).
_HOST_AND_PATH = re.compile(r"[^:]+://(?:[^@/?#]*@)?(\[[^\]/]*\]|[^:/?#]*)(?::[^/?#]*)?([^?#]*)")


def display_name(source: SourceConfig, country: CountryConfig) -> str:
    if source.name:
        return source.name
    found = _HOST_AND_PATH.match(source.url)
    if found is None:
        parts = urlsplit(source.url)
        return f"{country.name}: {parts.hostname}{parts.path}"
    host = found[1].strip("[]").lower()
    return f"{country.name}: {host}{found[2]}"


def resolve_source(
    settings: Settings, country: CountryConfig, config: SourceConfig, kind: str
) -> Source:
    """The source with every default applied; `kind` as the rules found it (an `auto`
    source whose options claim a kind is of that kind: `config/rules.py`)."""
    checks = settings.checks
    own_schedule = config.interval is not None or config.cron is not None
    interval = config.interval if own_schedule else checks.interval
    cron = config.cron if own_schedule else checks.cron
    if interval is None and cron is None:
        interval = timedelta(hours=6)
    return Source(
        id=config.id or derive_source_id(country.code, config.url),
        country=country.code,
        country_name=country.name,
        url=config.url,
        name=display_name(config, country),
        kind=kind,
        select=config.select,
        exclude=tuple(config.exclude),
        ignore=tuple(config.ignore),
        match=config.match,
        updated_pattern=config.updated_pattern or checks.updated_pattern,
        interval=interval,
        cron=cron,
        timeout=config.timeout or checks.timeout,
        max_bytes=config.max_bytes or checks.max_bytes,
        headers=tuple(sorted(config.headers.items())),
        allow_private=config.allow_private,
        content=config.content or checks.content,
        compared_versions=config.compared_versions or checks.compared_versions,
        recheck_after=(
            checks.recheck_after if config.recheck_after is None else config.recheck_after
        ),
        fetch=config.fetch,
        extract_timeout=config.extract_timeout or checks.extract_timeout,
        key=config.key,
        documents=_documents(config, kind),
        max_documents=config.max_documents or 20,
    )


# What `documents = true` follows: on a page, links to PDFs (the documents watcher reads), by
# the path's extension; in a sitemap, every address it lists. `documents = "..."` is a pattern
# of the addresses instead.
PDF_LINKS = r"(?i)\.pdf(?:[?#]|$)"
EVERY_ADDRESS = r"."


def _documents(config: SourceConfig, kind: str) -> str | None:
    if config.documents is True:
        return EVERY_ADDRESS if kind == "sitemap" else PDF_LINKS
    return config.documents or None
