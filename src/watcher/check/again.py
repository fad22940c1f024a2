"""A check's second looks at its source, after the first reading: the page fetched again to
learn its noise (`recheck_after`, `extract/noise.py`), a render that came out short rendered
once more (`check/rendered.py`), and, once the page's check is committed, the documents it
links to followed (`check/documents.py`). `_Check` (`check/pipeline.py`) is one: what is
declared here is its state and the two steps these use of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from watcher.check.documents import follow
from watcher.check.parts import Checking
from watcher.check.rendered import SHORT_RENDERS, held, shortfall
from watcher.config.sources import Source
from watcher.diff import Change, diff_pages
from watcher.errors import CheckError, StoreError
from watcher.extract import Document, PageDocument
from watcher.extract.noise import Noise, learn, without_noise
from watcher.fetch import Response
from watcher.store import read_transaction
from watcher.store.changes import latest_snapshot
from watcher.store.sources import SourceState

log = logging.getLogger("watcher.check")

Read = tuple[Document | None, str | None]  # a document (None: unchanged) and its fingerprint


class SecondLooks:
    app: Checking
    source: Source
    state: SourceState
    now: datetime
    fresh: bool
    step: str
    noise: Noise
    noise_learned: bool
    warnings: list[str] | None
    again: Callable[[], Awaitable[Response]] | None
    read: Document | None
    # The two steps of the check these use: reading a response into its document, and
    # running a function in the bounded worker pool (`_Check._read`, `_Check._bounded`).
    _read: Callable[
        [Response, str | None, list[str]], Awaitable[tuple[Document | None, str | None]]
    ]
    _bounded: Callable[..., Awaitable[Any]]

    async def _recheck(
        self, previous: PageDocument, document: PageDocument
    ) -> tuple[PageDocument, Change | None] | None:
        """Fetch the page again `recheck_after` later. Lines that changed from the snapshot
        to the first fetch and again to the second are noise: learned, and left out of both
        documents, which are compared anew. None when nothing was learned: the change
        stands as found (a recheck that fails is a warning, never the check's failure)."""
        assert self.again is not None
        assert self.warnings is not None
        self.step = "fetching the page again to learn its noise"
        await asyncio.sleep(self.source.recheck_after.total_seconds())
        try:
            second, _ = await self._read(await self.again(), None, [])
        except Exception as exc:
            if isinstance(exc, CheckError):
                reason = exc.reason
            else:  # a bug: the traceback goes to the log, the change stands all the same
                reason = f"internal error: {type(exc).__name__}"
                log.error("check %s: the recheck failed", self.source.id, exc_info=exc)
            self.warnings.append(f"fetched again to learn its noise, the page failed: {reason}")
            return None
        if not isinstance(second, PageDocument):
            return None  # no longer a page (a feed now?): the next check will say
        self.step = "learning noise"
        recheck = await self._bounded("learning noise", learn, previous, document, second)
        if recheck.refused:
            self.warnings.append(recheck.refused)
        if not recheck.lines:
            return None
        self.noise = self.noise.adding(recheck.lines, self.now)
        self.noise_learned = True
        log.info(
            "check %s: learned %s as noise",
            self.source.id,
            count(len(recheck.lines), "line"),
            extra={"source": self.source.id},
        )
        keys = self.noise.keys
        previous, document = without_noise(previous, keys), without_noise(document, keys)
        return document, await self._bounded("comparing", diff_pages, previous, document)

    async def _whole(
        self, response: Response, document: Document, fingerprint: str | None
    ) -> tuple[Response, Document | None, str | None]:
        """A rendered page that came out short (`check/rendered.py`) rendered once more; still
        short, the check fails saying so, unless far less text has held long enough."""
        previous = None
        if not self.fresh:
            async with read_transaction(self.app.engine) as connection:
                previous = await latest_snapshot(connection, self.source.id)
        if shortfall(document, previous) is None or self.again is None:
            return response, document, fingerprint
        self.step = "rendering the page once more"
        response = await self.again()
        assert self.warnings is not None
        known = None if self.fresh else self.state.fingerprint
        again, fingerprint = await self._read(response, known, self.warnings)
        reason = shortfall(again, previous)
        if reason is None:
            return response, again, fingerprint
        if held(reason, self.state.failures, self.state.last_error):
            self.warnings.append(f"{reason}, {SHORT_RENDERS} checks in a row: taken as the page")
            return response, again, fingerprint
        raise CheckError(reason)

    async def follow(self) -> None:
        """The sources following the page's linked documents brought in line with its links
        (`check/documents.py`), once the page's check is committed. Nothing said here fails
        the check: the page's result stands."""
        if not isinstance(self.read, PageDocument):
            return
        try:
            await follow(self.app, self.source, self.read)
        except StoreError:
            raise
        except Exception as exc:
            log.error("check %s: following its documents failed", self.source.id, exc_info=exc)


def count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"
