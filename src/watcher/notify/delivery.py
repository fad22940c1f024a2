"""Delivery: drain the outbox, each claimed batch through its channel's transport
(`notify/channels/`: email over SMTP, one connection per batch, or into a maildir;
webhooks; apprise).

Each message's result is recorded as soon as the server has answered it, so a crash loses
nothing and repeats at most the one message each connection had in flight. Temporary trouble
(4xx, refused or dropped connections, timeouts) is retried with exponential backoff
(`mail.retry` doubling up to `mail.max_retry_interval`) for `give_up_after`; a permanent
refusal (5xx) is recorded with the server's answer and not retried, and repeated refusals of
an address suspend its subscription.

A graceful stop (`stop` set) lets each connection finish and record the message it is
sending, sends no new one, gives the rest of its batch back, and closes: nothing repeats. A
failed commit (a full disk) fails every lane at once: each closes its connection, and the
delivery run ends with the `StoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.backoff import retry_delay
from watcher.config.model import MailConfig
from watcher.errors import DeliveryError
from watcher.notify.channels import Transport, by_kind, channel_of
from watcher.notify.parts import Telling
from watcher.store import write_transaction
from watcher.store.batch import GroupCommit
from watcher.store.claims import held, lease_for, release, release_stale_claims, renewing
from watcher.store.messages import Message, claim_messages, mark_failed, mark_retry, mark_sent
from watcher.store.schema import messages

log = logging.getLogger("watcher.delivery")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suspended: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


async def deliver(app: Telling, stop: asyncio.Event | None = None) -> DeliveryReport:
    """Send what is due in the outbox until it is empty, the server is in trouble, or `stop`.

    `mail.connections` lanes deliver email at once, each claiming a batch and sending it
    over one connection; one more lane delivers the messages to the other channels
    (webhooks, apprise), so trouble with the mail server never holds them up. A lane waits
    until each result is committed before it sends its next message; the recorder commits
    the results of all lanes together (group commit). One delivery runs at a time in a process (the
    service's drain holds a lock).
    """
    report = DeliveryReport()
    mail = app.settings.mail
    lanes = 1 if mail.transport == "maildir" else mail.connections
    trouble = asyncio.Event()
    stop = stop or asyncio.Event()

    claimed: set[int] = set()  # what the lanes hold: renewed until each result is recorded

    async def lane(recorder: Recorder, channels: bool = False) -> None:
        while not (trouble.is_set() and not channels) and not stop.is_set():
            batch = await _claim(app, channels=channels)
            if not batch:
                return
            ids = {message.id for message in batch}
            claimed.update(ids)
            try:
                for kind, part in by_kind(app, batch, attrgetter("recipient")):
                    delivered = await _send_batch(kind.transport(app), part, recorder, stop)
                    if not delivered and not channels:
                        trouble.set()  # the mail server: the rest waits for the next run
            finally:
                claimed.difference_update(ids)

    async with write_transaction(app.engine) as connection:
        # No lane of ours runs yet: what we hold is left from a run that failed (a full
        # disk): give it back now rather than when its lease expires.
        await release_stale_claims(connection, messages, now=app.clock(), me=app.worker, mine=True)
    renewed = renewing(
        app.engine,
        messages,
        lambda: claimed,
        worker=app.worker,
        clock=app.clock,
        lease=delivery_lease(app),
    )
    try:
        async with renewed, Recorder(app, report) as recorder, asyncio.TaskGroup() as group:
            for _ in range(lanes):
                group.create_task(lane(recorder))
            # Also with no channel configured: messages queued for one that has left the
            # configuration end (cancelled, or failed with that reason), never wait forever.
            group.create_task(lane(recorder, channels=True))
    except ExceptionGroup as problems:
        raise problems.exceptions[0] from None  # the first failure; the others followed it
    return report


async def _claim(app: Telling, *, channels: bool = False) -> list[Message]:
    mail = app.settings.mail
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        await release_stale_claims(connection, messages, now=now, me=app.worker)
        return await claim_messages(
            connection,
            now=now,
            worker=app.worker,
            lease=delivery_lease(app),
            limit=mail.batch_size,
            channels=channels,
        )


def delivery_lease(app: Telling) -> timedelta:
    """How long a claim on a message lasts unless renewed (`store/claims.py`): a delivery
    renews its batches' claims as it goes, so a worker that died on another host lets its
    messages go within about a minute, not after a whole batch's worth of timeouts."""
    return lease_for(app.settings.mail.timeout)


async def _send_batch(
    transport: Transport, batch: list[Message], recorder: Recorder, stop: asyncio.Event
) -> bool:
    """Send a batch over one connection; False when the connection failed.

    This is the one per-message error boundary of every channel: what a transport raises
    on purpose is a `DeliveryError`; anything else (a bug, a library's surprise) is that
    message's temporary failure, logged with its traceback, and the batch goes on."""
    try:
        await transport.open()
    except Exception as exc:
        error = _as_delivery_error(exc, batch[0])
        for message in batch:  # each was tried: the connection for it failed
            await recorder.record(message, error)
        return False
    try:
        for index, message in enumerate(batch):
            if stop.is_set():  # a graceful stop: the rest goes back, untouched
                await recorder.release(batch[index:])
                return True
            started = time.perf_counter()
            try:
                await transport.send(message)
            except Exception as exc:
                error = _as_delivery_error(exc, message)
                await recorder.record(message, error, started)
                if error.connection_lost:
                    for rest in batch[index + 1 :]:  # not tried: they wait, but lose no try
                        await recorder.record(rest, error, tried=False)
                    return False
            else:
                await recorder.record(message, None, started)
        return True
    finally:
        with contextlib.suppress(Exception):  # closing is courtesy: the results stand
            await transport.close()


def _as_delivery_error(exc: Exception, message: Message) -> DeliveryError:
    """What a transport raised, as a message's failure: its own `DeliveryError`, or any
    other exception as a temporary one ("internal error: KeyError"), with the traceback
    in the log."""
    if isinstance(exc, DeliveryError):
        return exc
    name = channel_of(message.recipient)
    where = f"channel {name}: " if name else ""
    log.error("%sdelivering message %s failed unexpectedly", where, message.id, exc_info=exc)
    return DeliveryError(f"{where}internal error: {type(exc).__name__}", permanent=False)


@dataclass(frozen=True, slots=True)
class _Result:
    """One message's fate, to commit: sent (no error), tried and failed, or given back."""

    message: Message
    error: DeliveryError | None
    seconds: float = 0.0
    tried: bool = True
    released: bool = False


@dataclass(frozen=True, slots=True)
class _Recorded:
    outcome: str  # "sent", "retry", "failed", "released" or "lost"
    suspended: bool = False


class Recorder:
    """Commits delivery results through one `GroupCommit`: what all lanes recorded meanwhile
    shares a transaction."""

    def __init__(self, app: Telling, report: DeliveryReport) -> None:
        self.app = app
        self.report = report
        self.group: GroupCommit[_Result, _Recorded] = GroupCommit(
            app.engine, self._commit, name="watcher-recorder"
        )

    async def __aenter__(self) -> Recorder:
        await self.group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.group.__aexit__(*exc_info)

    async def record(
        self,
        message: Message,
        error: DeliveryError | None,
        started: float | None = None,
        *,
        tried: bool = True,
    ) -> None:
        """Return once the result is committed."""
        seconds = round(time.perf_counter() - started, 4) if started else 0.0
        result = _Result(message, error, seconds, tried)
        recorded = await self.group.submit(result)
        report = self.report
        if recorded.outcome == "sent":
            report.sent += 1
        elif recorded.outcome == "failed":
            report.failed += 1
        elif recorded.outcome == "retry":
            report.retrying += 1
        if error is not None:
            report.errors.append(error.reason)
        if recorded.suspended:
            report.suspended.append(message.recipient)
        self.app.metrics.delivered(_log(result, recorded.outcome))

    async def release(self, batch: list[Message]) -> None:
        """Give claimed messages back, untried, for the next run (a graceful stop): all in
        one commit, not one commit each while the stop waits."""
        await asyncio.gather(
            *(self.group.submit(_Result(m, None, tried=False, released=True)) for m in batch)
        )

    async def _commit(self, connection: AsyncConnection, results: list[_Result]) -> list[_Recorded]:
        """Fenced: a message that went out is recorded as sent whoever holds it now; any
        other outcome only while this worker still holds the message's claim (its lease
        lapsed and another worker took it over: that one's outcome stands)."""
        app = self.app
        now = app.clock()
        sent = [r.message for r in results if r.error is None and not r.released]
        await mark_sent(connection, sent, now)
        ours = await held(
            connection, messages, [r.message.id for r in results if r.error], app.worker
        )
        await release(
            connection, messages, [r.message.id for r in results if r.released], app.worker
        )
        recorded = []
        for result in results:
            if result.released:
                recorded.append(_Recorded("released"))
            elif result.error is None:
                recorded.append(_Recorded("sent"))
            elif result.message.id not in ours:
                recorded.append(_Recorded("lost"))
            else:
                recorded.append(await self._failed(connection, result, now))
        return recorded

    async def _failed(
        self, connection: AsyncConnection, result: _Result, now: datetime
    ) -> _Recorded:
        mail = self.app.settings.mail
        message, error = result.message, result.error
        assert error is not None
        if error.permanent or now - message.created_at > mail.give_up_after:
            reason = error.reason
            if not error.permanent:
                reason = f"gave up after {message.attempts + 1} attempts: {error.reason}"
            suspended = await mark_failed(
                connection,
                message,
                error=reason,
                bounce=error.bounce,
                bounce_limit=mail.hard_bounce_limit,
                now=now,
            )
            return _Recorded("failed", suspended)
        if result.tried:
            at = retry_at(mail, message.attempts + 1, now, self.app.rng)
        else:  # its connection failed before its turn: no try counted, a short wait
            at = now + mail.retry
        if error.retry_after is not None:  # the receiver said when (a 429's Retry-After)
            at = max(at, now + timedelta(seconds=min(error.retry_after, 86400.0)))
        await mark_retry(connection, message, error=error.reason, at=at, tried=result.tried)
        return _Recorded("retry")


def _log(result: _Result, outcome: str) -> str:
    error = result.error
    detail = error.reason if error else result.message.subject
    channel = channel_of(result.message.recipient) or "email"
    extra = {
        "message_id": result.message.id,
        "channel": channel,
        "outcome": outcome,
        "duration": result.seconds,
    }
    log.info("message %s %s (%s): %s", result.message.id, outcome, channel, detail, extra=extra)
    return outcome


def retry_at(mail: MailConfig, attempts: int, now: datetime, rng: random.Random) -> datetime:
    """When to try a message again after its `attempts`-th try failed: the one backoff
    (`watcher/backoff.py`) from `mail.retry` up to `mail.max_retry_interval`."""
    return now + retry_delay(mail.retry, attempts, mail.max_retry_interval, rng=rng)
