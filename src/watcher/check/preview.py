"""A source tried before it is saved: fetched and read as its check would, nothing written.

The preview shows what a `select` keeps, as sections and their lines, the kind found, the
"Last Updated" date, what was off in the response (warnings), and the lines `exclude` and
`ignore` took away (the page read once more without them). A fetch or a reading that fails
raises the `CheckError` a failed check would record, with the same reason. It is what
`watcher try`, the API's `POST /api/v1/preview` and the desk's source form show.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Protocol

from watcher.check.run import request_for
from watcher.config import Settings, Source
from watcher.errors import CheckError, InternalError
from watcher.extract import Document
from watcher.extract.bounded import BoundedPool
from watcher.extract.kinds import KINDS, Reading, accept_header, detect, read_response
from watcher.extract.preview import Preview, sections_of, taken_away
from watcher.fetch import Fetcher, Response, Validators
from watcher.fetch.browser import BrowserFetcher

log = logging.getLogger("watcher.check")


class Previewing(Protocol):
    """What a preview uses of the running program (`watcher.app.App` is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def fetcher(self) -> Fetcher: ...
    @property
    def browser(self) -> BrowserFetcher: ...
    @property
    def extraction(self) -> BoundedPool: ...
    @property
    def fetch_slots(self) -> asyncio.Semaphore: ...


async def preview(parts: Previewing, source: Source) -> Preview:
    """Fetch `source` and read it; raises the `CheckError` its check would fail with (one
    error boundary, as a check's: anything else is an `InternalError`, its traceback logged)."""
    try:
        return await _preview(parts, source)
    except CheckError:
        raise
    except Exception as exc:
        log.error("preview of %s: unexpected error", source.url, exc_info=exc)
        raise InternalError("previewing", exc) from None


async def _preview(parts: Previewing, source: Source) -> Preview:
    kind_name = source.kind if source.kind != "auto" else "auto"
    request = request_for([source], accept_header(kind_name), Validators())
    fetcher = parts.browser if source.fetch == "browser" else parts.fetcher
    response = await fetcher.fetch(request, parts.fetch_slots)
    kind = (
        KINDS[source.kind]
        if source.kind != "auto"
        else detect(response.body, response.content_type)
    )
    document, warnings = await _read(parts, source, kind.name, response)
    removed: tuple[str, ...] = ()
    if kind.name == "page" and (source.exclude or source.ignore):
        whole, _ = await _read(parts, replace(source, exclude=(), ignore=()), kind.name, response)
        removed = taken_away(whole, document)
    return Preview(
        kind=kind.name,
        last_updated=getattr(document, "updated", None),
        sections=sections_of(document),
        warnings=tuple(warnings),
        removed=removed,
    )


async def _read(
    parts: Previewing, source: Source, kind: str, response: Response
) -> tuple[Document, list[str]]:
    reading = Reading(response.body, response.content_type, source, url=response.url)
    deadline = source.extract_timeout.total_seconds()
    document, _, warnings = await parts.extraction.run(
        "extraction", deadline, read_response, kind, reading
    )
    assert document is not None  # nothing was known: a document always comes back
    return document, warnings
