"""The one backoff (`watcher/backoff.py`), as a pure unit: doubling, capped, spread, and
never sooner than the other side asked."""

from __future__ import annotations

import random
from datetime import timedelta

from watcher.backoff import retry_delay

MINUTE = timedelta(minutes=1)


def test_the_wait_doubles_up_to_its_cap_give_or_take_a_tenth() -> None:
    rng = random.Random(7)
    for tries, expected in ((1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (30, 60)):
        for _ in range(50):
            wait = retry_delay(5 * MINUTE, tries, 60 * MINUTE, rng=rng) / MINUTE
            assert 0.9 * expected <= wait <= 1.1 * expected, (tries, wait)


def test_waits_that_failed_together_spread_apart() -> None:
    rng = random.Random(1)
    waits = {retry_delay(MINUTE, 3, 60 * MINUTE, rng=rng) for _ in range(20)}
    assert len(waits) == 20


def test_never_sooner_than_the_other_side_asked() -> None:
    rng = random.Random(3)
    assert retry_delay(MINUTE, 1, 60 * MINUTE, rng=rng, retry_after=7200) == timedelta(hours=2)
    assert retry_delay(MINUTE, 1, 60 * MINUTE, rng=rng, retry_after=1) < 2 * MINUTE
