"""A bounded place for extraction (and comparison): the check's CPU work in worker processes.

A watched document is remote input: a PDF whose page tree loops, a JSON array that needs
200 times its size in memory, a jq program that never ends. None of it may stall the event
loop (the web pages, the other checks) or grow the service without bound, so every
`kind.read`, every comparison and the learning of noise run here, in one of `workers`
processes (`checks.extract_workers`, by default the machine's cores), each with

- a deadline per task (`checks.extract_timeout`): a worker past it is killed and replaced,
  and the check fails with "extraction took longer than 10 s";
- a memory ceiling (`checks.extract_memory`, as `RLIMIT_AS` above what the worker had
  mapped when it started): an allocation past it fails inside the worker, which answers
  "needed more than 512 MB" and is replaced; a worker that dies instead (a library that
  aborts when out of memory) is a failed check that says so, and replaced too.

Workers are forked from a server process (multiprocessing's "forkserver") that has imported
the extraction libraries once, so a worker starts in milliseconds and a replacement costs no
import; the service's own threads are never forked. Under the service (`watcher run`) the
workers run at a lower CPU priority (`SERVICE_NICE`), so that its web pages and scheduler
come first on a busy machine; a one-shot command has nothing to put first, and its workers
run level with it (`nice = 0`: its pass 2 ran ~10% faster so).

Tasks are module-level functions, sent by reference with their arguments (pickled); what
they raise comes back and is raised here with the worker's traceback as its cause, so one
error boundary (`check/pipeline.py`) sees what it always saw. The pool is started on first
use and closed with the `App`.

The cost, measured in bench/README ("Bounded extraction"): the round trip of a 25 KB page
costs the calling process ~70 us of CPU (pickles over a pipe, watched once per worker),
where reading it costs ~235 us.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import resource
import select
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

from watcher.config.units import format_megabytes
from watcher.extract.errors import ExtractError

log = logging.getLogger("watcher.check")

# What the workers' server imports before it forks them (their import costs no worker):
# what reading every kind imports (the kinds' own modules import it only when they read,
# so that checking a configuration stays cheap), and comparing. "__main__" too:
# multiprocessing would otherwise run the program's main script again in every worker (for
# `watcher`, the whole CLI); imported once in the server, it is not.
# `tests/test_bounded.py` reads a document of each kind after these and finds none of
# watcher's modules, nor a library pages need, left to import. Not feedparser: a worker
# imports it at its first feed, as ever; preloaded, every worker inherited its objects and
# the pass that records changes to 2,000 pages took ~10% longer (bench/README).
PRELOAD = (
    "__main__",
    "watcher.extract.bounded",
    "watcher.extract.kinds",
    "watcher.extract.kinds.feed",
    "watcher.extract.kinds.json",
    "watcher.extract.kinds.page",
    "watcher.extract.kinds.pdf",
    "watcher.extract.page",
    "watcher.extract.feed",
    "watcher.fetch.charset",
    "watcher.diff",
    "pypdf",
    "jq",
)


SERVICE_NICE = 10  # the workers' niceness under the service, added to the service's own
PROTOCOL = pickle.HIGHEST_PROTOCOL


class Overrun(ExtractError):
    """A task went past the deadline or the memory ceiling, or its worker died."""


@dataclass
class _Worker:
    """A worker process and the parent's end of its pipe, watched by the event loop for as
    long as it lives (one registration, not one per task): `answered` is set when the
    worker has something to say (its answer, or the end of the pipe)."""

    process: Any
    connection: Connection
    answered: asyncio.Future[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def listen(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self.connection.fileno(), self._readable)

    def _readable(self) -> None:
        if self.answered is not None and not self.answered.done():
            # The loop may pass on a readiness it saw before the last answer was read, after
            # the next task was sent: only data (or the pipe's end) there now counts.
            if self._waiting():
                self.answered.set_result(None)
        elif self.answered is None and self._loop is not None and self._waiting():
            # Readable with no task out: the pipe ended (the worker died while idle). Stop
            # watching it (the loop would be told again and again); its next task finds out.
            self._loop.remove_reader(self.connection.fileno())
            self._loop = None

    def _waiting(self) -> bool:
        """Is there something to read now (an answer, or the pipe's end)? `select` on the
        one descriptor: `Connection.poll` builds a selector for every call (~20 us)."""
        return bool(select.select([self.connection.fileno()], [], [], 0)[0])

    def kill(self) -> None:
        """Stop it for good (call off the event loop: it waits for the process)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)

    def forget(self) -> None:
        """Stop watching its pipe, and close it (on the event loop, before `kill`)."""
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.connection.fileno())
            self._loop = None
        with contextlib.suppress(Exception):
            self.connection.close()


@dataclass
class BoundedPool:
    """At most `workers` processes that run one task each at a time, within `deadline`
    seconds and `memory` bytes. `run` waits for a free worker (the deadline starts when one
    takes the task); `warm` starts them ahead of the first task."""

    workers: int
    memory: int
    nice: int = 0  # added to this process's niceness in each worker
    _idle: asyncio.Queue[_Worker | None] = field(default_factory=asyncio.Queue)
    _alive: int = 0  # processes started (or being started) and not killed
    _free: asyncio.Semaphore | None = None
    _warming: set[asyncio.Task[None]] = field(default_factory=set)
    _closed: bool = False

    def warm(self) -> None:
        """Start the workers in the background, so that a pass's first extractions do not
        wait for them (the first start also starts the server they are forked from)."""
        while not self._closed and self._alive < self.workers:
            self._alive += 1
            task = asyncio.create_task(self._warm_one(), name="watcher-extract-warm")
            self._warming.add(task)
            task.add_done_callback(self._warming.discard)

    async def _warm_one(self) -> None:
        try:
            worker = await self._start()
        except Exception:
            log.exception("an extraction worker did not start")
            self._alive -= 1
            self._idle.put_nowait(None)  # whoever waits for it starts one of their own
            return
        self._idle.put_nowait(worker)

    async def run(
        self,
        what: str,
        deadline: float,
        function: Callable[..., Any],
        *args: Any,
        on_start: Callable[[], None] | None = None,
    ) -> Any:
        """`function(*args)` in a worker. Raises `Overrun` ("extraction took longer than
        10 s") past the bounds; whatever the function raised, otherwise. `on_start` is
        called when a worker takes the task (what came before was waiting for one)."""
        if self._closed:
            raise RuntimeError("the extraction pool is closed")
        if self._free is None:
            self._free = asyncio.Semaphore(self.workers)
        async with self._free:
            worker = await self._take()
            if on_start is not None:
                on_start()
            try:
                answer = await self._ask(worker, what, deadline, function, args)
            except BaseException:  # a bound, a death, or the check cancelled: never reused
                self._alive -= 1
                worker.forget()
                await asyncio.to_thread(worker.kill)
                raise
            if self._closed:
                worker.forget()
                await asyncio.to_thread(worker.kill)
            else:
                self._idle.put_nowait(worker)
        return _unpacked(answer)

    async def _take(self) -> _Worker:
        """An idle worker, or a new one while fewer than `workers` are alive. (Holding one
        of the `workers` permits, a task that finds all alive finds one idle or starting.)"""
        worker = None
        if not self._idle.empty() or self._alive >= self.workers:
            worker = await self._idle.get()
        if worker is None:
            self._alive += 1
            try:
                worker = await self._start()
            except BaseException:
                self._alive -= 1
                raise
        return worker

    async def _ask(
        self,
        worker: _Worker,
        what: str,
        deadline: float,
        function: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> tuple[str, Any]:
        worker.listen()
        worker.answered = asyncio.get_running_loop().create_future()
        try:
            try:  # plain pickles: multiprocessing's own pickler is built anew for each object
                worker.connection.send_bytes(pickle.dumps((function, args), PROTOCOL))
            except (OSError, EOFError):
                raise await self._died(worker, what) from None
            try:
                async with asyncio.timeout(deadline):
                    await worker.answered
            except TimeoutError:
                raise Overrun(f"{what} took longer than {_seconds(deadline)}") from None
            try:
                answer: tuple[str, Any] = pickle.loads(worker.connection.recv_bytes())  # noqa: S301 (our worker's)
            except (OSError, EOFError):
                raise await self._died(worker, what) from None
        finally:
            worker.answered = None
        if answer[0] == "memory":
            raise _no_memory(what, self.memory)  # the worker is replaced: it may hold it still
        return answer

    async def _died(self, worker: _Worker, what: str) -> Overrun:
        await asyncio.to_thread(worker.process.join, 5)
        code = worker.process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
        log.warning("an extraction worker died (%s) while %s", how, what)
        return Overrun(
            f"{what} stopped: its worker process died ({how}; out of memory, more than"
            f" {format_megabytes(self.memory)}?)"
        )

    async def _start(self) -> _Worker:
        return await asyncio.to_thread(self._spawn)

    def _spawn(self) -> _Worker:
        context = _context()
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(theirs, self.memory, self.nice),
            name="watcher-extract",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Worker(process, mine)

    async def aclose(self) -> None:
        """Stop every idle worker (a busy one is killed by its task's end)."""
        self._closed = True
        await asyncio.gather(*self._warming, return_exceptions=True)
        idle = []
        while not self._idle.empty():
            if (worker := self._idle.get_nowait()) is not None:
                idle.append(worker)
        for worker in idle:
            with contextlib.suppress(Exception):
                worker.connection.send_bytes(pickle.dumps(None))  # "stop": it exits by itself
            worker.forget()
        for worker in idle:
            await asyncio.to_thread(worker.process.join, 5)
            await asyncio.to_thread(worker.kill)


def start_server() -> None:
    """Start the workers' server now: it imports the extraction libraries (~0.7 s, in a
    process of its own, on another core) while the command opens its database, so that a
    pass's first extractions do not wait for it. Returns at once."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


@cache
def _context() -> Any:
    """multiprocessing's forkserver context (one server a process, as multiprocessing has)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _unpacked(answer: tuple[str, Any]) -> Any:
    status, value = answer
    if status == "ok":
        return value
    exc, remote = value
    exc.__cause__ = _RemoteTraceback(remote)
    raise exc


class _RemoteTraceback(Exception):
    """The worker's traceback, shown as the cause of what it raised."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


def _no_memory(what: str, memory: int) -> Overrun:
    return Overrun(f"{what} needed more than {format_megabytes(memory)}")


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- in the worker -------------------------------------------------------------------------


def _serve(connection: Connection, memory: int, nice: int) -> None:
    """A worker: take (function, args), answer ("ok", result) or ("error", (exc, traceback))
    or ("memory", None), until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the service decides when workers end
    if nice:  # below the service: on a busy machine its event loop runs first, documents wait
        with contextlib.suppress(OSError):
            os.nice(nice)
    _limit_memory(memory)
    while True:
        try:
            task = pickle.loads(connection.recv_bytes())  # noqa: S301 (the service's own)
        except (EOFError, OSError, MemoryError):
            return
        if task is None:
            return
        function, args = task
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            answer = ("memory", None)
        except BaseException as exc:  # everything goes back to the check, to be told
            answer = ("error", (_portable(exc), traceback.format_exc()))
        del task, function, args
        try:
            connection.send_bytes(pickle.dumps(answer, PROTOCOL))
        except MemoryError:
            answer = ("memory", None)
            connection.send_bytes(pickle.dumps(answer, PROTOCOL))
        except (OSError, EOFError):
            return
        if answer[0] == "memory":
            return  # its heap may stay large: the pool starts a fresh worker


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else one that says the same."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 (its own bytes, made on the line)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _limit_memory(memory: int) -> None:
    """Address space for `memory` bytes more than the worker has mapped now (the libraries
    its server imported are shared, and counted in what it has)."""
    mapped = _mapped_bytes()
    if mapped is None:
        return
    limit = mapped + memory
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _mapped_bytes() -> int | None:
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
