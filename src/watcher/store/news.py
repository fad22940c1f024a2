"""Who is to hear of a change: one pending notification per reader and change.

A reader hears of a change of a country they follow whole; a reader who chose sections or
keywords (`diff/interest.py`) hears of it only when the part of it they chose changed: a
section of theirs, a line or a feed entry a keyword of theirs matches. No notification, no
email: a change that touches none of a reader's sections is never news to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff import Change
from watcher.diff.interest import EVERYWHERE, Interest
from watcher.store.db import analyze_if_grown, insert_ignoring_duplicates
from watcher.store.follows import KEYWORD, QUIET, SECTION
from watcher.store.schema import follows, notifications, subscribers, subscriptions
from watcher.store.subscribers import ACTIVE


@dataclass(frozen=True, slots=True)
class News:
    """A change just recorded: its id, its source's country, and what changed."""

    change_id: int
    country: str
    change: Change
    held: bool = False  # waits for an editor (store/review.py): its notifications are held
    significance: float = 0.0  # how much it matters (diff/significance.py)


async def queue_notifications(
    connection: AsyncConnection, news: Sequence[News], *, now: datetime, notable: float
) -> int:
    """Every active reader who is to hear of each change (see the module), once; how many
    notifications were queued."""
    countries = {item.country for item in news}
    followers = (
        select(
            subscribers.c.id,
            subscribers.c.frequency,
            subscribers.c.notable,
            subscriptions.c.country,
        )
        .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
        .where(subscribers.c.status == ACTIVE, subscriptions.c.country.in_([*countries, "*"]))
    )
    by_country: defaultdict[str, set[int]] = defaultdict(set)
    frequency: dict[int, str] = {}
    choosing: set[int] = set()  # only notable changes, please
    for row in (await connection.execute(followers)).all():
        by_country[row.country].add(row.id)
        frequency[row.id] = row.frequency
        if row.notable:
            choosing.add(row.id)
    everywhere = by_country.pop("*", set())
    choosy = await _choices(connection, countries, frequency, choosing)
    interests = {  # one each, its keywords compiled once for all the changes
        subscriber_id: Interest(
            frozenset(code for code in countries if subscriber_id in by_country[code])
            | ({"*"} if subscriber_id in everywhere else set()),
            chosen.sections,
            chosen.keywords,
            chosen.quiet,
        )
        for subscriber_id, chosen in choosy.items()
    }
    rows = []
    for item in news:
        readers = by_country[item.country] | everywhere | interests.keys()
        for subscriber_id in sorted(readers):
            if subscriber_id in choosing and item.significance < notable:
                continue  # they asked for the notable changes only
            interest = interests.get(subscriber_id)
            if interest is not None and interest.narrow(item.country, item.change) is None:
                continue  # none of what they chose changed
            rows.append(
                {
                    "subscriber_id": subscriber_id,
                    "change_id": item.change_id,
                    "country": item.country,
                    "created_at": now,
                    "status": "held" if item.held else "pending",
                    "frequency": frequency[subscriber_id],
                }
            )
    if not rows:
        return 0
    unique = ["subscriber_id", "change_id"]
    await connection.execute(insert_ignoring_duplicates(connection, notifications, unique), rows)
    await analyze_if_grown(connection, notifications, len(rows))  # a fan-out to thousands
    return len(rows)


@dataclass
class _Chosen:
    sections: frozenset[tuple[str, str]] = frozenset()
    keywords: tuple[str, ...] = ()
    quiet: frozenset[str] = frozenset()


async def _choices(
    connection: AsyncConnection, countries: set[str], frequency: dict[int, str], notable: set[int]
) -> dict[int, _Chosen]:
    """The active readers whose sections or keywords bear on changes of these countries,
    with those choices; fills in the frequency of those who follow no country of these, and
    adds to `notable` those of them who want only the notable changes."""
    relevant = or_(
        follows.c.kind == KEYWORD,
        (follows.c.kind == SECTION) & follows.c.country.in_([*countries, EVERYWHERE]),
        (follows.c.kind == QUIET) & follows.c.country.in_(list(countries)),
    )
    query = (
        select(follows, subscribers.c.frequency, subscribers.c.notable)
        .join(subscribers, subscribers.c.id == follows.c.subscriber_id)
        .where(subscribers.c.status == ACTIVE, relevant)
    )
    sections: defaultdict[int, set[tuple[str, str]]] = defaultdict(set)
    keywords: defaultdict[int, list[str]] = defaultdict(list)
    quiet: defaultdict[int, set[str]] = defaultdict(set)
    for row in (await connection.execute(query)).all():
        frequency.setdefault(row.subscriber_id, row.frequency)
        if row.notable:
            notable.add(row.subscriber_id)
        if row.kind == SECTION:
            sections[row.subscriber_id].add((row.country, row.value))
        elif row.kind == QUIET:
            quiet[row.subscriber_id].add(row.country)
        else:
            keywords[row.subscriber_id].append(row.value)
    return {
        id_: _Chosen(
            frozenset(sections.get(id_, ())),
            tuple(sorted(keywords.get(id_, ()))),
            frozenset(quiet.get(id_, ())),
        )
        for id_ in sections.keys() | keywords.keys()
    }
