"""watcher's errors, one tree, in the manner of httpx's `HTTPError > RequestError > ...`.

    WatcherError
    ├── ConfigError           the configuration cannot be used; one line a mistake, each
    │                         naming its key                                    (config/loader.py)
    ├── CheckError            one source's check failed; `reason` says why, for an operator
    │   ├── FetchError        fetch: network, HTTP status, limits, redirects   (fetch/client.py)
    │   ├── DecodeError       decode: the bytes are not text we can read       (fetch/charset.py)
    │   ├── ExtractError      extract: text -> document (HTML, feed, select)    (extract/errors.py)
    │   │   ├── Overrun       past the extraction's deadline or memory, or its worker died
    │   │   │                                                                  (extract/bounded.py)
    │   │   └── NotReadable   no kind reads the response; the reason names what watcher
    │   │                     reads                                    (extract/kinds/kind.py)
    │   ├── LostClaim         store: the lease ran out and another worker took the source
    │   │                     over; this check's result is dropped, nothing is written
    │   └── InternalError     anything else raised inside one check (a bug, a library's
    │                         surprise): the step it happened in, the class and the message
    ├── PrivateAddress        a name that resolves only into private space, where a redirect
    │                         may not go; an `OSError` too, for the HTTP client (fetch/guard.py)
    ├── UnknownSource         source ids asked for that the configuration lacks (check/run.py)
    ├── DeskError             a desk action that cannot be done            (desk/errors.py)
    │   ├── NoSuchSource      no source of that id (for an edit: none on the desk)
    │   ├── OwnedByFile       the source or reader is the configuration file's, edited there
    │   ├── SourceExists      a source of that id exists already
    │   └── NoSuchReader      no subscriber has that address
    ├── NoSuchVersion         a source's history has no such version    (desk/history.py)
    ├── Unlike                two versions of different kinds (page, feed) compared
                                                                         (diff/compared.py)
    ├── DeliveryError         one message was not delivered (an SMTP answer, a webhook's
    │                         status): retried or failed by the outbox (notify/delivery.py)
    ├── StoreError            the database refused or failed (full disk, gone, locked): no
    │                         source's fault, so it ends the pass or the delivery run
    ├── ServiceError          the service cannot start (its address taken)  (service/runner.py)
    └── CommandError          a command cannot do what was asked: one line, an exit status
                                                                               (cli/common.py)

A `CheckError` is contained by the check's error boundary (`check/pipeline.py`): it becomes
a failed check with its reason, the source backs off by `checks.retry`, and the pass goes on.
A `StoreError` is not: nothing can be recorded, so the pass stops and says why.
"""

from __future__ import annotations

from watcher.text import one_line


class WatcherError(Exception):
    """Every error watcher raises on purpose."""


class CheckError(WatcherError):
    """One source's check failed. `retry_after` is a server's wish in seconds, if it said."""

    step = "check"

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        reason = one_line(reason)  # it may quote what a server sent
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class InternalError(CheckError):
    """An unexpected exception inside one check, kept as the cause (its traceback is logged)."""

    def __init__(self, step: str, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        super().__init__(f"internal error while {step}: {described}")
        self.step = step
        self.__cause__ = exc


class LostClaim(CheckError):
    """This worker no longer holds the source: what its check found is not written."""

    step = "storing"

    def __init__(self) -> None:
        super().__init__(
            "another worker took this source over (this check outlasted its lease);"
            " nothing was recorded"
        )


class DeliveryError(WatcherError):
    """One message was not delivered: whether to try again (and not before `retry_after`
    seconds, when the receiver said), whether the address bounced, whether the connection
    is gone (the rest of its batch waits)."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        bounce: bool = False,
        connection_lost: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.bounce = bounce
        self.connection_lost = connection_lost
        self.retry_after = retry_after


class StoreError(WatcherError):
    """The database cannot be opened or used; the message says which and why."""
