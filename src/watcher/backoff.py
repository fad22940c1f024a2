"""One backoff, for a source's checks and for a message's deliveries: how long to wait
before trying again after failing `tries` times in a row.

The first wait, doubling with each further failure up to a cap, give or take a tenth (so
that what failed together is not tried again all at once), and never sooner than the other
side asked (a `Retry-After`).
"""

from __future__ import annotations

import random
from datetime import timedelta

SPREAD = 0.1  # give or take this share of the wait


def retry_delay(
    first: timedelta,
    tries: int,
    cap: timedelta,
    *,
    rng: random.Random,
    retry_after: float | None = None,
) -> timedelta:
    """The wait after the `tries`-th failure in a row (1 for the first)."""
    delay = min(first * (2 ** min(max(tries, 1) - 1, 20)), cap)
    delay *= rng.uniform(1 - SPREAD, 1 + SPREAD)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay
