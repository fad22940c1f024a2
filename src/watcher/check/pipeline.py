"""One check of one source, end to end: response -> document -> diff -> one commit.

The outcome is one of: a baseline (first success; nobody is told), unchanged, changed (the
change is recorded together with its snapshot, its notifications and the source's new state),
or failed (the reason is recorded, the snapshot is left alone, the source retried with
backoff).

`check_source` is the one error boundary per source: whatever goes wrong inside the check,
an expected `CheckError` or any other exception (logged with its traceback), becomes that
source's failed check, never the pass's. Only a `StoreError` passes through: when nothing
can be recorded, the pass cannot go on.

Cheap exits come first: a 304, a body identical to the last one, or a page whose selected
markup has the fingerprint it had last time, all end the check before extraction.

A page found changed may be fetched once more (`recheck_after`): what differs between the two
fetches is noise, learned for the source (`extract/noise.py`), and the change is decided again
without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from watcher.check.again import SecondLooks, count
from watcher.check.documents import beyond_cap, excerpts
from watcher.check.failing import failed_state
from watcher.check.parts import Checking
from watcher.check.timing import next_check_time
from watcher.check.writer import Result, Writer
from watcher.config.sources import Source
from watcher.diff import Change, PageChange, diff_feeds, diff_pages
from watcher.errors import CheckError, InternalError, LostClaim, StoreError
from watcher.extract import Document, FeedDocument, PageDocument, document_key
from watcher.extract.kinds import KINDS, Kind, Reading, detect, read_response
from watcher.extract.noise import Noise
from watcher.fetch import Response
from watcher.store import read_transaction
from watcher.store.changes import latest_snapshot, recent_content_hashes
from watcher.store.sources import SourceState

log = logging.getLogger("watcher.check")

Status = Literal["baseline", "unchanged", "changed", "failed"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a pass hands each source: the response to its URL, or why there is none."""

    response: Response | None
    error: Exception | None  # a FetchError, or whatever else the fetch raised
    seconds: float
    again: Callable[[], Awaitable[Response]] | None = None  # the URL fetched anew, unconditionally


@dataclass(frozen=True, slots=True)
class Outcome:
    source: Source
    status: Status
    detail: str
    seconds: float
    change_id: int | None = None
    change: Change | None = None


@dataclass(frozen=True, slots=True)
class _Verdict:
    status: Status
    detail: str
    change_id: int | None = None
    change: Change | None = None


async def check_source(
    app: Checking, source: Source, state: SourceState, fetched: Fetched, writer: Writer | None
) -> Outcome:
    """Check one source; with no `writer` (a dry run) nothing is written."""
    started = time.perf_counter()
    check = _Check(app, source, state, writer)
    try:
        verdict = await check.run(fetched)
        if writer is not None and source.documents and verdict.status != "failed":
            await check.follow()
    except StoreError:
        raise
    except LostClaim as lost:  # another worker holds the source now: leave it to them
        verdict = _Verdict("failed", lost.reason)
    except CheckError as failure:
        verdict = await check.failed(failure)
    except Exception as exc:
        log.error(
            "check %s: unexpected error while %s",
            source.id,
            check.step,
            exc_info=exc,
            extra={"source": source.id},
        )
        verdict = await check.failed(InternalError(check.step, exc))
    seconds = fetched.seconds + time.perf_counter() - started
    outcome = Outcome(
        source, verdict.status, verdict.detail, seconds, verdict.change_id, verdict.change
    )
    app.metrics.checked(verdict.status, seconds, verdict.change.kind if verdict.change else None)
    log.info(
        "check %s %s: %s",
        source.id,
        verdict.status,
        verdict.detail,
        extra={
            "source": source.id,
            "outcome": verdict.status,
            "duration": round(seconds, 4),
            # of which waiting for an extraction worker (all were busy with other checks)
            "extract_wait": round(check.waited, 4),
            "change_id": verdict.change_id,
        },
    )
    return outcome


class _Check(SecondLooks):
    def __init__(
        self, app: Checking, source: Source, state: SourceState, writer: Writer | None
    ) -> None:
        self.app = app
        self.source = source
        self.state = state
        self.writer = writer
        self.now: datetime = app.clock()
        self.noise = Noise.from_json(state.volatile)
        self.noise_learned = False  # did this check learn noise (to be written)?
        self.fresh = is_fresh(source, state)
        self.step = "fetching"  # where the check is, for a failure's reason
        self.warnings: list[str] | None = None  # once the response was read: what was off
        self.again: Callable[[], Awaitable[Response]] | None = None
        self.kind: Kind | None = None  # once the response was looked at
        self.waited = 0.0  # seconds spent waiting for a free extraction worker
        self.read: Document | None = None  # the document this check read, if it read one

    async def run(self, fetched: Fetched) -> _Verdict:
        if fetched.error is not None:
            raise fetched.error
        self.again = fetched.again
        self.step = "reading the response"
        response = fetched.response
        assert response is not None
        if response.not_modified:
            if self.fresh:
                raise CheckError("HTTP 304 without a stored copy to compare with")
            await self._save(response)
            return _Verdict("unchanged", "not modified (HTTP 304)")
        body_hash = response.body_hash()
        if not self.fresh and body_hash == self.state.body_hash:
            await self._save(response, body_hash=body_hash)
            return _Verdict("unchanged", "same body as last time")
        document, fingerprint = await self._document(response)
        if self.source.fetch == "browser" and document is not None:
            response, document, fingerprint = await self._whole(response, document, fingerprint)
            body_hash = response.body_hash()
        self.read = document
        if self.source.documents and isinstance(document, PageDocument):
            assert self.warnings is not None
            self.warnings += beyond_cap(self.source, document)
        if document is None:
            await self._save(response, body_hash=body_hash, fingerprint=fingerprint)
            return _Verdict("unchanged", "the page changed, nothing that matters did")
        if self.fresh and document.content_hash() != self.state.content_hash:
            await self._save(
                response,
                body_hash=body_hash,
                document=document,
                fingerprint=fingerprint,
                snapshot=True,
            )
            what = (
                "new baseline (the extraction settings, or watcher's way of reading, changed)"
                if self.state.has_baseline
                else "baseline"
            )
            return _Verdict("baseline", f"{what}: {_describe(document)}")
        if document.content_hash() == self.state.content_hash:
            await self._save(
                response, body_hash=body_hash, document=document, fingerprint=fingerprint
            )
            return _Verdict("unchanged", f"{_what_changed(document)}, nothing that matters did")
        return await self._compare(response, body_hash, document, fingerprint)

    async def _compare(
        self, response: Response, body_hash: str, document: Document, fingerprint: str | None
    ) -> _Verdict:
        """Against the stored snapshot: a change, or why there is none. Either way the
        document becomes the newest snapshot, in the one commit with the source's state."""
        self.step = "comparing"
        async with read_transaction(self.app.engine) as connection:
            previous = await latest_snapshot(connection, self.source.id)
        change: Change | None = None
        quiet: _Verdict | None = None
        if isinstance(document, PageDocument) and await self._seen_before(document):
            versions = self.source.compared_versions
            quiet = _Verdict(
                "unchanged", f"back to one of its last {versions} versions (compared_versions)"
            )
        elif isinstance(previous, FeedDocument) and isinstance(document, FeedDocument):
            change, document = await self._bounded("comparing", diff_feeds, previous, document)
        elif isinstance(previous, PageDocument) and isinstance(document, PageDocument):
            change = await self._bounded("comparing", diff_pages, previous, document)
            if change is not None and self.source.recheck_after and self.again is not None:
                relearned = await self._recheck(previous, document)
                if relearned is not None:
                    document, change = relearned
                    if change is None:
                        quiet = _Verdict(
                            "unchanged",
                            "only lines that differ from one fetch to the next changed"
                            f" ({count(len(self.noise.lines), 'line')} learned as noise)",
                        )
        else:  # nothing stored, or a page that became a feed: start afresh
            quiet = _Verdict("baseline", f"baseline: {_describe(document)}")
        if quiet is None and isinstance(change, PageChange) and change.documents:
            assert self.warnings is not None
            self.step = "reading the new documents the page links to"
            change = await excerpts(self.app, self.source, change, self._bounded, self.warnings)
        if quiet is None and change is None:
            nothing = "nothing new in the feed" if document.kind == "feed" else "no difference"
            quiet = _Verdict("unchanged", nothing)
        change_id = await self._save(
            response,
            body_hash=body_hash,
            document=document,
            fingerprint=fingerprint,
            snapshot=True,
            change=change if quiet is None else None,
        )
        if quiet is not None:
            return quiet
        assert change is not None
        return _Verdict("changed", change.summary(), change_id, change)

    async def _seen_before(self, document: PageDocument) -> bool:
        """Is the page back to one of its last `compared_versions` stored versions (a page
        flapping between two states, a banner rotating through three)? Then it is not news."""
        versions = self.source.compared_versions
        if versions <= 1:
            return False
        async with read_transaction(self.app.engine) as connection:
            seen = await recent_content_hashes(connection, self.source.id, versions)
        return document.content_hash() in seen

    async def _document(self, response: Response) -> tuple[Document | None, str | None]:
        """The response as a document of its kind (`extract/kinds/`), or None for a page
        whose selected markup is unchanged. What was off but could be read past (a recovered
        feed, a charset that lied) goes into `warnings`, recorded with the check's success."""
        self.step = "extracting"
        self.warnings = []
        self.kind = self._kind(response)
        known = None if self.fresh else self.state.fingerprint
        return await self._read(response, known, self.warnings)

    async def _read(
        self, response: Response, known: str | None, warnings: list[str]
    ) -> tuple[Document | None, str | None]:
        assert self.kind is not None
        reading = Reading(
            response.body,
            response.content_type,
            self.source,
            known,
            self.noise.keys,
            url=response.url,
        )
        document, fingerprint, found = await self._bounded(
            "extraction", read_response, self.kind.name, reading
        )
        warnings.extend(found)
        return document, fingerprint

    async def _bounded(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` in an extraction worker, within the source's `extract_timeout`
        and the pool's memory ceiling (`extract/bounded.py`)."""
        deadline = self.source.extract_timeout.total_seconds()
        asked = time.perf_counter()

        def taken() -> None:
            self.waited += time.perf_counter() - asked

        return await self.app.extraction.run(what, deadline, function, *args, on_start=taken)

    def _kind(self, response: Response) -> Kind:
        if self.source.kind != "auto":
            return KINDS[self.source.kind]
        detected = detect(response.body, response.content_type)
        expected = self.state.kind if not self.fresh else None
        if expected and expected != detected.name:
            raise CheckError(
                f"expected a {expected} as at the last check, but the response is a"
                f" {detected.name} (set kind in the configuration if the source really changed)"
            )
        return detected

    def _success(self, response: Response) -> dict[str, Any]:
        """The state after a successful check: only the columns that change are written (a
        healthy source's check mostly moves its times on)."""
        settings = self.app.settings
        state: dict[str, Any] = {
            "last_checked_at": self.now,
            "last_success_at": self.now,
            "next_check_at": next_check_time(
                self.source,
                self.now,
                jitter=settings.checks.jitter,
                timezone=settings.service.timezone,
                rng=self.app.rng,
            ),
        }
        healthy = {
            "status": "ok",
            "failures": 0,
            "last_error": None,
            "failing_since": None,
            "alerted_at": None,
            "etag": response.validators.etag or self.state.etag,
            "last_modified": response.validators.last_modified or self.state.last_modified,
        }
        if self.warnings is not None:  # read anew: its warnings replace the last ones
            healthy["last_warning"] = "; ".join(self.warnings)[:2000] or None
        state.update({k: v for k, v in healthy.items() if getattr(self.state, k) != v})
        return state

    async def _save(
        self,
        response: Response,
        *,
        body_hash: str | None = None,
        document: Document | None = None,
        fingerprint: str | None = None,
        snapshot: bool = False,
        change: Change | None = None,
    ) -> int | None:
        """The new state, and the snapshot and change when there are: one commit."""
        state = self._success(response)
        if body_hash is not None:
            state["body_hash"] = body_hash
        if fingerprint is not None:
            state["fingerprint"] = fingerprint
        if document is not None:
            kind = self.kind.name if self.kind else document.kind
            state["content_hash"] = document.content_hash()
            state["kind"] = kind
            state["extract_key"] = document_key(self.source, kind, self.noise.keys)
        if self.noise_learned:
            state["volatile"] = self.noise.to_json()
        if change is not None:
            state["last_change_at"] = self.now
        result = Result(self.source, state, document if snapshot else None, change)
        return await self.writer.save(result) if self.writer else None

    async def failed(self, failure: CheckError) -> _Verdict:
        """Record the failure (`check/failing.py`): the reason, the backoff, perhaps the
        operator's alert."""
        verdict = _Verdict("failed", failure.reason)
        if self.writer is None:
            return verdict
        state = failed_state(
            self.source,
            self.state,
            failure,
            now=self.now,
            settings=self.app.settings,
            rng=self.app.rng,
        )
        try:
            await self.writer.save(Result(self.source, state))
        except LostClaim as lost:
            return _Verdict("failed", lost.reason)
        return verdict


def is_fresh(source: Source, state: SourceState) -> bool:
    """Is there no stored document to compare with: no baseline yet, or one made with other
    settings, or by an older release's extraction (`document_key`)?"""
    if not state.has_baseline:
        return True
    noise = Noise.from_json(state.volatile).keys if state.volatile else frozenset()
    return state.extract_key != document_key(source, state.kind, noise)


def _describe(document: Document) -> str:
    if isinstance(document, FeedDocument):
        return f"feed with {count(len(document.entries), 'matching entry', 'matching entries')}"
    lines, sections = document.outline()
    return f"page with {count(lines, 'line')} in {count(sections, 'section')}"


def _what_changed(document: Document) -> str:
    return "the feed changed" if document.kind == "feed" else "the page changed"
