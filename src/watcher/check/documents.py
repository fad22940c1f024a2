"""Linked documents followed: what a page's new documents say first, and the sources its links
add, and remove when they go.

A page source with `documents = ...` (`extract/linked.py`) names the documents it links to.
When its check finds one newly linked, the document is fetched and read at once, so that the
change names it with its first lines ("New document: Country report 2012 (PDF)", then what
it says first): `excerpts`. After the page's check is committed, the sources that follow its
documents are brought in line with its links (`follow`): each document linked is a source of
the page's country on the desk (`found_on` the page), checked as any other (its first check
its baseline, its edits changes in its own sections), until its link goes away; then it is
removed, its history kept. Following is reconciled on every check that read the page, so a
worker stopped between the page's commit and this one leaves nothing behind for long.

At most `max_documents` of a page's documents are followed (the page's check warns of how
many more it links to), and at most `EXCERPTS` are fetched for one change. A linked document on
another host than its page must be public (`Source.public_only`): a page cannot lead
watcher into private address space by linking there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update

from watcher.check.parts import Checking
from watcher.config.model import CountryConfig, SourceConfig
from watcher.config.sources import Source, derive_source_id, resolve_source
from watcher.config.units import format_duration
from watcher.diff import PageChange
from watcher.diff.change import LinkedDocument
from watcher.errors import CheckError
from watcher.extract import PageDocument
from watcher.extract.kinds import Reading, accept_header, detect, read_response
from watcher.fetch import Request
from watcher.store import write_transaction
from watcher.store.db import notify_due
from watcher.store.desk import add_desk_source, edit_desk_source, followed_documents
from watcher.store.editors import record
from watcher.store.schema import sources
from watcher.store.sources import put_source

log = logging.getLogger("watcher.check")

EXCERPTS = 5  # new documents fetched for one change's first lines
EXCERPT_LINES = 3
EXCERPT_CHARS = 300

Bounded = Callable[..., Awaitable[Any]]  # `_Check._bounded`: a function in the worker pool


def document_settings(page: Source, url: str, label: str) -> dict[str, Any]:
    """A followed document's settings as the desk keeps them: its address, its label as its
    name, and its page's limits (a page allowed 20 MB allows its reports as much)."""
    return {
        "url": url,
        "name": label,
        "timeout": format_duration(page.timeout),
        "extract_timeout": format_duration(page.extract_timeout),
        "max_bytes": page.max_bytes,
    }


def document_source(app: Checking, page: Source, url: str, label: str) -> Source:
    """The source that watches a document `page` links to: of the page's country, with its
    limits, its own kind found by what it is."""
    country = next(
        (c for c in app.settings.countries if c.code == page.country),
        CountryConfig(code=page.country, name=page.country_name),
    )
    model = SourceConfig.model_validate(document_settings(page, url, label))
    source = resolve_source(app.settings, country, model, "auto")
    same_host = urlsplit(url).hostname == urlsplit(page.url).hostname
    return replace(
        source,
        id=derive_source_id(page.country, url),
        found_on=page.id,
        public_only=not same_host,
    )


async def excerpts(
    app: Checking, page: Source, change: PageChange, bounded: Bounded, warnings: list[str]
) -> PageChange:
    """The change with the first lines of each newly linked document (up to `EXCERPTS`)."""
    new = [document for document in change.documents if document.status == "new"]
    if not new:
        return change
    read = await asyncio.gather(
        *(_first_lines(app, page, document, bounded) for document in new[:EXCERPTS]),
        return_exceptions=True,
    )
    lines: dict[str, tuple[str, ...]] = {}
    for document, found in zip(new, read, strict=False):
        if isinstance(found, BaseException):
            if isinstance(found, CheckError):
                reason = found.reason
            else:  # a bug: the traceback goes to the log, the change stands without lines
                reason = f"internal error: {type(found).__name__}"
                log.error("check %s: reading a new document failed", page.id, exc_info=found)
            warnings.append(f"the new document {document.label!r} could not be read: {reason}")
            continue
        lines[document.url] = found
    return replace(
        change,
        documents=tuple(
            replace(document, excerpt=lines.get(document.url, ())) for document in change.documents
        ),
    )


async def _first_lines(
    app: Checking, page: Source, document: LinkedDocument, bounded: Bounded
) -> tuple[str, ...]:
    source = document_source(app, page, document.url, document.label)
    request = Request(
        url=source.url,
        timeout=source.timeout.total_seconds(),
        max_bytes=source.max_bytes,
        accept=accept_header("auto"),
        public_only=source.public_only,
    )
    response = await app.fetcher.fetch(request, app.fetch_slots)
    kind = detect(response.body, response.content_type)
    reading = Reading(response.body, response.content_type, source, url=response.url)
    read, _, _ = await bounded("extraction", read_response, kind.name, reading)
    if not isinstance(read, PageDocument):
        return ()
    texts = [line.text for line in read.lines if line.kind != "updated"][:EXCERPT_LINES]
    return tuple(
        text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…" for text in texts
    )


def beyond_cap(page: Source, document: PageDocument) -> list[str]:
    """The page's warning when it links to more documents than it follows."""
    more = len(document.documents) - page.max_documents
    if more <= 0:
        return []
    return [
        f"the page links to {more} more document{'s' if more != 1 else ''} than"
        f" max_documents ({page.max_documents}): not followed"
    ]


async def follow(app: Checking, page: Source, document: PageDocument) -> None:
    """Bring the sources that follow the page's documents in line with its links: the first
    `max_documents` of them (the check warned of the others, `beyond_cap`)."""
    wanted = dict(list(document.documents)[: page.max_documents])
    watched = {
        source.url
        for source in app.config.sources
        if source.country == page.country and source.found_on != page.id
    }
    known = {code.code for code in app.settings.countries}
    now = app.clock()
    by = f"found on {page.id}"
    async with write_transaction(app.engine) as connection:
        followed = await followed_documents(connection, page.id)
        changed = False
        for url, label in wanted.items():
            if url in followed or url in watched:
                continue
            source = document_source(app, page, url, label)
            if app.config.source(source.id) is not None:
                continue  # the id is taken by a source of the operator's
            await add_desk_source(
                connection,
                source_id=source.id,
                country=page.country,
                country_name=None if page.country in known else page.country_name,
                settings=document_settings(page, url, label),
                now=now,
                by=by,
                found_on=page.id,
            )
            await put_source(connection, source, now, active=True, due=True)
            await record(connection, now, by, "document followed", detail=source.id)
            changed = True
        for url, entry in followed.items():
            if url in wanted:
                continue
            await edit_desk_source(connection, entry.id, now=now, by=by, removed_at=now)
            await connection.execute(
                update(sources).where(sources.c.id == entry.id).values(active=False)
            )
            await record(connection, now, by, "document no longer linked", detail=entry.id)
            changed = True
        if changed:
            await notify_due(connection)
    if changed:
        log.info("check %s: the documents it links to are followed", page.id)
