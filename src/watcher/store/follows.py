"""Sections and keywords readers follow (`diff/interest.py` says what they mean), and the
sections there are to follow: each page source's latest top-level headings."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff.interest import EVERYWHERE, MAX_KEYWORDS, clean_keyword
from watcher.store.db import insert_ignoring_duplicates
from watcher.store.schema import follows, sources

SECTION = "section"
KEYWORD = "keyword"
MAX_SECTIONS = 200  # per reader
MAX_NAME = 200  # characters of a section's name


Choices = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]  # (sections, keywords)


def cleaned(sections: Iterable[tuple[str, str]], keywords: Iterable[str]) -> Choices:
    """Choices as stored: trimmed, each once, sorted, within the limits."""
    pairs = {
        (country.strip().upper() if country.strip() != EVERYWHERE else EVERYWHERE, name)
        for country, raw in sections
        if (name := " ".join(raw.split())[:MAX_NAME])
    }
    words = {word for raw in keywords if (word := clean_keyword(raw))}
    return tuple(sorted(pairs))[:MAX_SECTIONS], tuple(sorted(words, key=str.lower))[:MAX_KEYWORDS]


async def follows_of(connection: AsyncConnection, ids: Sequence[int]) -> dict[int, Choices]:
    """Each reader's (sections, keywords); readers without any are left out."""
    found: defaultdict[int, tuple[list[tuple[str, str]], list[str]]] = defaultdict(lambda: ([], []))
    for start in range(0, len(ids), 500):
        rows = await connection.execute(
            select(follows)
            .where(follows.c.subscriber_id.in_(list(ids[start : start + 500])))
            .order_by(follows.c.subscriber_id, follows.c.country, follows.c.value)
        )
        for row in rows:
            sections, keywords = found[row.subscriber_id]
            if row.kind == SECTION:
                sections.append((row.country, row.value))
            else:
                keywords.append(row.value)
    return {id_: (tuple(s), tuple(sorted(k, key=str.lower))) for id_, (s, k) in found.items()}


async def set_follows(
    connection: AsyncConnection,
    subscriber_id: int,
    sections: Iterable[tuple[str, str]],
    keywords: Iterable[str],
) -> None:
    """Exactly these choices from now on."""
    pairs, words = cleaned(sections, keywords)
    await connection.execute(delete(follows).where(follows.c.subscriber_id == subscriber_id))
    rows = [
        {"subscriber_id": subscriber_id, "kind": SECTION, "country": country, "value": name}
        for country, name in pairs
    ] + [
        {"subscriber_id": subscriber_id, "kind": KEYWORD, "country": EVERYWHERE, "value": word}
        for word in words
    ]
    if rows:
        await connection.execute(follows.insert(), rows)


async def add_follows(
    connection: AsyncConnection,
    subscriber_id: int,
    sections: Iterable[tuple[str, str]],
    keywords: Iterable[str],
) -> None:
    """These choices as well as those already made."""
    had = (await follows_of(connection, [subscriber_id])).get(subscriber_id, ((), ()))
    await set_follows(connection, subscriber_id, [*had[0], *sections], [*had[1], *keywords])


async def follow_renames(
    connection: AsyncConnection, country: str, renamed: Sequence[tuple[str, str]]
) -> None:
    """Sections of `country` renamed on its pages (`diff/renames.py`): their followers
    follow the new heading; who follows the old one in every country follows both."""
    for old, new in renamed:
        moved = (follows.c.kind == SECTION) & (follows.c.value == old)
        already = select(follows.c.subscriber_id).where(
            follows.c.kind == SECTION, follows.c.country == country, follows.c.value == new
        )
        await connection.execute(
            delete(follows).where(
                moved, follows.c.country == country, follows.c.subscriber_id.in_(already)
            )
        )
        await connection.execute(
            update(follows).where(moved, follows.c.country == country).values(value=new)
        )
        everywhere = (
            await connection.execute(
                select(follows.c.subscriber_id).where(moved, follows.c.country == EVERYWHERE)
            )
        ).scalars()
        rows = [
            {"subscriber_id": id_, "kind": SECTION, "country": EVERYWHERE, "value": new}
            for id_ in everywhere
        ]
        if rows:
            statement = insert_ignoring_duplicates(
                connection, follows, ["subscriber_id", "kind", "country", "value"]
            )
            await connection.execute(statement, rows)


async def sections_seen(connection: AsyncConnection) -> dict[str, list[str]]:
    """Country code -> the top-level sections of its pages, in page order, each once."""
    rows = await connection.execute(
        select(sources.c.country, sources.c.sections)
        .where(sources.c.active.is_(True), sources.c.sections.is_not(None))
        .order_by(sources.c.country, sources.c.id)
    )
    seen: defaultdict[str, dict[str, None]] = defaultdict(dict)
    for row in rows:
        for name in json.loads(row.sections):
            seen[row.country].setdefault(name, None)
    return {country: list(names) for country, names in seen.items()}
