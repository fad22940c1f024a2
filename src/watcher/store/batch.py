"""Group commit: many tasks hand in items, one task commits whatever has arrived together.

Each submitter waits until its own item is committed, and gets its result; the items that
arrive meanwhile share the transaction. One transaction per item cost more CPU than the work
itself (about 2 ms through the async database layer), so the check writer and the delivery
recorder both commit this way.

Items that trickle in (results a few milliseconds apart, as when two extraction workers read
200 KB pages) would each get a commit of their own, whose fixed cost (the transaction, the
claims' fence, a few statements) then outweighed the checks on the event loop: a group may
`linger` after the first item of a batch, up to that many seconds, for others to join it,
until `enough` have (its submitters wait meanwhile, and with them whatever they hold: a
linger alone made a pass of fast checks a third slower). Asked to end, it commits what it
has at once.

A failed commit fails every item of that batch with a `StoreError` (the database's message,
the original as its cause), and every item after it: a database that refused one commit is
not trusted with the next, and no submitter is left waiting for a result nobody will set.
A submitter that was cancelled meanwhile is skipped; its item is committed all the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from watcher.errors import StoreError
from watcher.store.db import store_error

Item = TypeVar("Item")
Result = TypeVar("Result")
Commit = Callable[[AsyncConnection, list[Item]], Awaitable[Sequence[Result]]]

BATCH = 500


class GroupCommit(Generic[Item, Result]):
    """`async with GroupCommit(engine, commit) as group: result = await group.submit(item)`.

    `commit(connection, items)` runs inside the transaction and returns one result per item.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        commit: Commit[Item, Result],
        *,
        name: str,
        limit: int = BATCH,
        linger: float = 0.0,
        enough: int = BATCH,
    ) -> None:
        self._engine = engine
        self._commit = commit
        self._name = name
        self._limit = limit
        self._linger = linger
        self._enough = min(enough, limit)
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._broken: StoreError | None = None

    async def __aenter__(self) -> GroupCommit[Item, Result]:
        self._task = asyncio.create_task(self._run(), name=self._name)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._queue.put_nowait(None)
        await self._task

    async def submit(self, item: Item) -> Result:
        """Commit the item (with others); its result. Raises `StoreError` if the commit fails."""
        if self._broken is not None:
            raise self._broken
        if self._task is None or self._task.done():
            raise StoreError(f"{self._name} is not running")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        try:
            async with self._engine.connect() as connection:
                writer = await connection.execution_options(watcher_write=True)
                while self._broken is None and (batch := await self._gather()) is not None:
                    await self._commit_batch(writer, batch)
        except Exception as exc:  # the connection itself failed, or could not be opened
            self._break(exc)
        finally:  # cancelled or ended: nobody may wait for ever
            self._fail_queued(self._broken or StoreError(f"{self._name} stopped"))

    async def _gather(self) -> list[tuple[Item, asyncio.Future[Result]]] | None:
        """What has arrived (waiting for the first), and what arrives within the linger;
        None once the end was asked for."""
        first = await self._queue.get()
        if first is None:
            return None
        batch = [first]
        loop = asyncio.get_running_loop()
        until = loop.time() + self._linger
        while len(batch) < self._limit:
            if not self._queue.empty():
                item = self._queue.get_nowait()
            elif len(batch) < self._enough and (left := until - loop.time()) > 0:
                try:
                    async with asyncio.timeout(left):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            else:
                break
            if item is None:
                self._queue.put_nowait(None)  # end after this batch
                break
            batch.append(item)
        return batch

    async def _commit_batch(
        self, connection: AsyncConnection, batch: list[tuple[Item, asyncio.Future[Result]]]
    ) -> None:
        try:
            async with connection.begin():
                results = await self._commit(connection, [item for item, _ in batch])
        except Exception as exc:
            error = self._break(exc)
            for _, future in batch:
                _settle(future, error=error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    def _break(self, exc: BaseException) -> StoreError:
        if self._broken is None:
            self._broken = store_error(exc)
        self._fail_queued(self._broken)
        return self._broken

    def _fail_queued(self, error: StoreError) -> None:
        while not self._queue.empty():
            entry = self._queue.get_nowait()
            if entry is not None:
                _settle(entry[1], error=error)


def _settle(
    future: asyncio.Future[Result],
    *,
    result: Result | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # its submitter was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
