"""A pass: claim the sources to check, fetch each URL once, check every source, summarise.

Sources that share a URL (a site-wide feed that several countries filter with `match`) share
one fetch. Requests in flight are bounded twice: by `checks.concurrency` overall and by
`checks.per_host` inside the fetcher; checks under way, by twice `checks.concurrency`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from watcher.check.parts import Checking
from watcher.check.pipeline import Fetched, Outcome, check_source, is_fresh
from watcher.check.writer import Writer
from watcher.config.sources import Source
from watcher.errors import WatcherError
from watcher.extract.kinds import accept_header
from watcher.fetch import Request, Response, Validators
from watcher.store import read_transaction, write_transaction
from watcher.store.claims import lease_for, release, release_stale_claims, renewing
from watcher.store.schema import sources
from watcher.store.sources import SourceState, claim_sources, load_states

OnOutcome = Callable[[Outcome], None]


@dataclass
class PassResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # asked for, but claimed by another check

    @property
    def counts(self) -> Counter[str]:
        return Counter(outcome.status for outcome in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def changed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "changed"]


class UnknownSource(WatcherError):
    """Source ids asked for that the configuration does not have."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = list(ids)


async def run_pass(
    app: Checking,
    *,
    ids: Sequence[str] | None = None,
    every: bool = False,
    limit: int | None = None,
    siblings_within: timedelta | None = None,
    dry_run: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_outcome: OnOutcome | None = None,
) -> PassResult:
    """Check the due sources (or `ids`, or with `every` all of them) once.

    `limit` claims at most that many due sources, longest overdue first (a worker's batch);
    `siblings_within` adds the sources sharing a URL with them that fall due within that
    time anyway, so that one fetch serves them all.
    """
    started = time.perf_counter()
    if ids:
        unknown = [source_id for source_id in ids if app.config.source(source_id) is None]
        if unknown:
            raise UnknownSource(unknown)
    states = await _take(
        app,
        ids=ids,
        due_only=not (every or ids),
        limit=limit,
        siblings_within=siblings_within,
        dry_run=dry_run,
    )
    result = PassResult()
    if states:  # the extraction workers start while the first requests are in flight
        app.extraction.warm()
    if ids:
        result.skipped = sorted(set(ids) - {state.id for state in states})
    if on_start:
        on_start(len(states))
    work = [(app.config.source(state.id), state) for state in states]
    groups: dict[tuple[object, ...], list[tuple[Source, SourceState]]] = {}
    for source, state in work:
        if source is not None:
            key = (source.url, source.headers, source.allow_private, source.fetch)
            groups.setdefault(key, []).append((source, state))

    async def run_group(group: list[tuple[Source, SourceState]], writer: Writer | None) -> None:
        # A check that waits for its commit holds no fetch slot: requests stay in flight
        # meanwhile, and the writer commits bigger batches (a 304 pass ran ~15% faster).
        async with app.check_slots:
            fetched = await _fetch(app, group)
            for source, state in group:
                outcome = await check_source(app, source, state, fetched, writer)
                result.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)

    def unfinished() -> list[str]:
        done = {outcome.source.id for outcome in result.outcomes}
        return [state.id for state in states if state.id not in done]

    try:
        async with contextlib.AsyncExitStack() as stack:
            writer = None if dry_run else await stack.enter_async_context(writer_for(app))
            if not dry_run and states:
                await stack.enter_async_context(
                    renewing(
                        app.engine,
                        sources,
                        unfinished,
                        worker=app.worker,
                        clock=app.clock,
                        lease=claim_lease(app),
                    )
                )
            tasks = [asyncio.create_task(run_group(group, writer)) for group in groups.values()]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if not dry_run and (left := unfinished()):
            async with write_transaction(app.engine) as connection:
                await release(connection, sources, left, app.worker)
    result.seconds = time.perf_counter() - started
    return result


async def _take(
    app: Checking,
    *,
    ids: Sequence[str] | None,
    due_only: bool,
    limit: int | None,
    siblings_within: timedelta | None,
    dry_run: bool,
) -> list[SourceState]:
    now = app.clock()
    if dry_run:  # look, but claim nothing: a dry run writes nothing at all
        async with read_transaction(app.engine) as connection:
            states = await load_states(connection)
        if ids:
            return [state for state in states if state.id in set(ids)]
        return [s for s in states if not due_only or s.next_check_at <= now]
    async with write_transaction(app.engine) as connection:
        await release_stale_claims(connection, sources, now=now, me=app.worker)
        return await claim_sources(
            connection,
            now=now,
            worker=app.worker,
            lease=claim_lease(app),
            ids=ids,
            due_only=due_only,
            limit=limit,
            siblings_within=siblings_within,
        )


def writer_for(app: Checking) -> Writer:
    """The writer of a pass of `app`'s (the review setting read at each commit: a reload
    may change it mid-pass)."""
    return Writer(
        app.engine,
        worker=app.worker,
        clock=app.clock,
        keep_snapshots=app.settings.service.keep_snapshots,
        reviewed=lambda country: app.config.reviewed(country),
        terms=lambda country: app.config.key_terms(country),
        notable=lambda: app.settings.significance.notable,
        enough=app.settings.checks.concurrency,
    )


def claim_lease(app: Checking) -> timedelta:
    """How long a claim on a source lasts unless renewed (`store/claims.py`)."""
    return lease_for(app.settings.checks.timeout)


async def _fetch(app: Checking, group: list[tuple[Source, SourceState]]) -> Fetched:
    """One request for every source of the group. Conditional only when all of them hold the
    same validators and a baseline, so a 304 means "unchanged" for each of them."""
    source = group[0][0]
    states = [state for _, state in group]
    same = all(
        (s.etag, s.last_modified, s.body_hash)
        == (states[0].etag, states[0].last_modified, states[0].body_hash)
        for s in states
    )
    fresh = any(is_fresh(src, s) for src, s in group)
    validators = states[0].validators if same and not fresh else Validators()
    # An "auto" source asks for the kind its last check found, once there was one.
    kinds = {src.kind if src.kind != "auto" else (s.kind or "auto") for src, s in group}
    request = request_for(
        [src for src, _ in group],
        accept_header(kinds.pop() if len(kinds) == 1 else "auto"),
        validators,
    )
    fetcher = app.browser if source.fetch == "browser" else app.fetcher
    started = time.perf_counter()
    try:
        response = await fetcher.fetch(request, app.fetch_slots)
    except Exception as error:  # each source's check turns it into its failed check
        return Fetched(None, error, time.perf_counter() - started)
    again = _Again(app, fetcher, replace(request, validators=Validators()))
    return Fetched(response, None, time.perf_counter() - started, again)


class _Again:
    """The group's URL fetched once more, unconditionally, for the checks that learn noise
    (`check/pipeline.py`); sources sharing the URL share this second response too."""

    def __init__(self, app: Checking, fetcher: Any, request: Request) -> None:
        self.app = app
        self.fetcher = fetcher
        self.request = request
        self.response: asyncio.Task[Response] | None = None

    async def __call__(self) -> Response:
        if self.response is None:
            self.response = asyncio.create_task(
                self.fetcher.fetch(self.request, self.app.fetch_slots)
            )
        return await self.response


def request_for(sources: list[Source], accept: str, validators: Validators) -> Request:
    """The one request for sources sharing a URL: the longest timeout and largest size any
    of them allows, the first one's headers."""
    source = sources[0]
    return Request(
        url=source.url,
        timeout=max(src.timeout for src in sources).total_seconds(),
        max_bytes=max(src.max_bytes for src in sources),
        accept=accept,
        validators=validators,
        headers=source.headers,
        allow_private=source.allow_private,
        public_only=source.public_only,
        wait_for=_wait_for(sources) if source.fetch == "browser" else None,
    )


def _wait_for(sources: list[Source]) -> str | None:
    """What the browser waits for before it takes the page: the `select` of the sources
    when they share one (Playwright's own syntax for XPath), else network idle."""
    selects = {source.select for source in sources}
    select = selects.pop() if len(selects) == 1 else None
    if select is None:
        return None
    return "xpath=" + select.removeprefix("xpath:") if select.startswith("xpath:") else select
