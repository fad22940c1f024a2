"""The one group-commit mechanism (store/batch.py) on a real SQLite file: results reach the
right submitters, a cancelled submitter harms nobody, and a failed commit fails every waiter
and every later submitter at once, so no task waits for a result nobody will set."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.app import App
from watcher.check.run import writer_for
from watcher.check.writer import Result
from watcher.errors import StoreError
from watcher.store import create_engine, write_transaction
from watcher.store.batch import GroupCommit
from watcher.store.schema import sources


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (v INTEGER NOT NULL)"))
    yield engine
    await engine.dispose()


async def insert(connection: AsyncConnection, items: list[int]) -> list[int]:
    for item in items:
        await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": item})
    return [item * 10 for item in items]


async def rows(engine) -> list[int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        return sorted((await connection.execute(text("SELECT v FROM t"))).scalars())


async def test_each_submitter_gets_its_own_result(engine) -> None:  # type: ignore[no-untyped-def]
    async with GroupCommit(engine, insert, name="test") as group:
        results = await asyncio.gather(*(group.submit(n) for n in range(50)))
    assert results == [n * 10 for n in range(50)]
    assert await rows(engine) == list(range(50))


async def test_a_cancelled_submitter_harms_nobody(engine) -> None:  # type: ignore[no-untyped-def]
    gate = asyncio.Event()

    async def slow_insert(connection: AsyncConnection, items: list[int]) -> list[int]:
        await gate.wait()
        return await insert(connection, items)

    async with GroupCommit(engine, slow_insert, name="test") as group:
        first = asyncio.create_task(group.submit(1))
        await asyncio.sleep(0.05)  # committing, waiting at the gate
        second = asyncio.create_task(group.submit(2))
        await asyncio.sleep(0.01)
        first.cancel()  # its submitter gives up while the commit is under way
        second.cancel()
        gate.set()
        assert await group.submit(3) == 30  # the committer lives on (no InvalidStateError)
    assert await rows(engine) == [1, 2, 3]  # a cancelled item is committed all the same


async def test_a_failed_commit_fails_every_waiter_now_and_later(engine) -> None:  # type: ignore[no-untyped-def]
    calls = 0

    async def failing(connection: AsyncConnection, items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        await insert(connection, items)
        await asyncio.sleep(0.05)  # more arrive meanwhile
        await connection.execute(text("INSERT INTO t (v) VALUES (NULL)"))  # NOT NULL
        return []

    async with GroupCommit(engine, failing, name="test") as group:
        waiting = [asyncio.create_task(group.submit(n)) for n in range(5)]
        await asyncio.sleep(0.01)
        waiting += [asyncio.create_task(group.submit(n)) for n in range(5, 9)]
        async with asyncio.timeout(5):  # nobody hangs
            outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(outcome, StoreError) for outcome in outcomes)
        assert "database error: " in str(outcomes[0])
        assert "NOT NULL" in str(outcomes[0])
        with pytest.raises(StoreError):
            await group.submit(99)
    assert calls == 1  # a database that refused a commit is not trusted with the next
    assert await rows(engine) == []  # and the failed batch was rolled back


async def test_a_check_cancelled_while_its_result_commits_stalls_no_other(
    demo_app: App, tmp_path: Path
) -> None:
    """The pass cancels its checks when one fails (a full disk); a check cancelled while the
    writer commits its result made the writer raise InvalidStateError and die, and every
    later result waited for ever."""
    source, other = demo_app.config.sources[:2]
    now = demo_app.clock()
    async with write_transaction(demo_app.engine) as connection:  # claimed, as a pass does
        await connection.execute(update(sources).values(claimed_by=demo_app.worker))
    outside = sqlite3.connect(tmp_path / "watcher.db", isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")  # the writer's commit must wait for this lock
    async with writer_for(demo_app) as writer:
        first = asyncio.create_task(writer.save(Result(source, {"last_checked_at": now})))
        await asyncio.sleep(0.3)
        first.cancel()
        outside.execute("ROLLBACK")  # the commit goes through, its waiter is gone
        async with asyncio.timeout(10):
            assert await writer.save(Result(other, {"last_checked_at": now})) is None
    outside.close()


async def test_items_that_trickle_in_share_a_commit_within_the_linger(engine) -> None:  # type: ignore[no-untyped-def]
    """When results arrive a few milliseconds apart (two workers reading 200 KB pages), a
    commit per result cost the event loop more than the checks: the group waits up to its
    `linger` after the first item for others to join it."""
    batches: list[int] = []

    async def counting(connection: AsyncConnection, items: list[int]) -> list[int]:
        batches.append(len(items))
        return await insert(connection, items)

    async def trickle(group: GroupCommit[int, int], count: int) -> list[int]:
        submitted = []
        for n in range(count):
            submitted.append(asyncio.create_task(group.submit(n)))
            await asyncio.sleep(0.004)
        return list(await asyncio.gather(*submitted))

    async with GroupCommit(engine, counting, name="test", linger=0.2) as group:
        assert await trickle(group, 10) == [n * 10 for n in range(10)]
    assert batches == [10]
    batches.clear()
    async with GroupCommit(engine, counting, name="test") as group:  # no linger: at once
        started = asyncio.get_running_loop().time()
        assert await group.submit(7) == 70
        assert asyncio.get_running_loop().time() - started < 0.15
    assert batches == [1]


async def test_the_end_is_not_kept_waiting_by_the_linger(engine) -> None:  # type: ignore[no-untyped-def]
    started = asyncio.get_running_loop().time()
    async with GroupCommit(engine, insert, name="test", linger=1) as group:
        assert await group.submit(1) == 10  # alone: committed when the linger is over...
    assert 0.9 < asyncio.get_running_loop().time() - started < 2.5
    started = asyncio.get_running_loop().time()
    async with GroupCommit(engine, insert, name="test", linger=5) as group:
        task = asyncio.create_task(group.submit(2))
        await asyncio.sleep(0.05)
    assert task.result() == 20  # ...or at once when the group is asked to end
    assert asyncio.get_running_loop().time() - started < 1


async def test_a_linger_ends_once_enough_items_have_joined(engine) -> None:  # type: ignore[no-untyped-def]
    """Fast checks must not wait out the linger: their submitters hold the pass's check slots
    meanwhile (a linger alone made the 2,000-page pass 2 a third slower)."""
    batches: list[int] = []

    async def counting(connection: AsyncConnection, items: list[int]) -> list[int]:
        batches.append(len(items))
        return await insert(connection, items)

    started = asyncio.get_running_loop().time()
    async with GroupCommit(engine, counting, name="test", linger=5, enough=4) as group:
        first = [asyncio.create_task(group.submit(n)) for n in range(4)]
        assert await asyncio.gather(*first) == [0, 10, 20, 30]
        assert asyncio.get_running_loop().time() - started < 1
    assert batches == [4]
