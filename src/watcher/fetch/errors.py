"""The fetch step's error: a reason fit for an operator, and the server's retry wish."""

from __future__ import annotations

from watcher.errors import CheckError


class FetchError(CheckError):
    """The fetch failed; `reason` says why, `retry_after` is the server's wish in seconds."""

    step = "fetching"

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, retry_after=retry_after)
        self.status = status
