"""Sections and keywords readers follow (`diff/interest.py` says what they mean), and the
sections there are to follow: each page source's latest top-level headings."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.diff.interest import EVERYWHERE, MAX_KEYWORDS, clean_keyword
from watcher.store.db import insert_ignoring_duplicates
from watcher.store.schema import follows, sources

SECTION = "section"
KEYWORD = "keyword"
QUIET = "quiet"  # a country whose news (feeds) the reader turned off, sections chosen
MAX_SECTIONS = 200  # per reader
MAX_NAME = 200  # characters of a section's name


class Choices(NamedTuple):
    """What a reader follows besides whole countries."""

    sections: tuple[tuple[str, str], ...] = ()  # (country or "*", section name)
    keywords: tuple[str, ...] = ()
    quiet: tuple[str, ...] = ()  # countries of their sections whose news they turned off


def cleaned(
    sections: Iterable[tuple[str, str]], keywords: Iterable[str], quiet: Iterable[str] = ()
) -> Choices:
    """Choices as stored: trimmed, each once, sorted, within the limits; a country's news
    turned off only where sections of it are chosen (else there is nothing to turn off)."""
    pairs = {
        (country.strip().upper() if country.strip() != EVERYWHERE else EVERYWHERE, name)
        for country, raw in sections
        if (name := " ".join(raw.split())[:MAX_NAME])
    }
    words = {word for raw in keywords if (word := clean_keyword(raw))}
    kept = tuple(sorted(pairs))[:MAX_SECTIONS]
    codes = {country for country, _ in kept}
    off = tuple(sorted({code.strip().upper() for code in quiet} & codes))
    return Choices(kept, tuple(sorted(words, key=str.lower))[:MAX_KEYWORDS], off)


async def follows_of(connection: AsyncConnection, ids: Sequence[int]) -> dict[int, Choices]:
    """Each reader's choices; readers without any are left out."""
    found: defaultdict[int, tuple[list[tuple[str, str]], list[str], list[str]]] = defaultdict(
        lambda: ([], [], [])
    )
    for start in range(0, len(ids), 500):
        rows = await connection.execute(
            select(follows)
            .where(follows.c.subscriber_id.in_(list(ids[start : start + 500])))
            .order_by(follows.c.subscriber_id, follows.c.country, follows.c.value)
        )
        for row in rows:
            sections, keywords, quiet = found[row.subscriber_id]
            if row.kind == SECTION:
                sections.append((row.country, row.value))
            elif row.kind == QUIET:
                quiet.append(row.country)
            else:
                keywords.append(row.value)
    return {
        id_: Choices(tuple(s), tuple(sorted(k, key=str.lower)), tuple(sorted(q)))
        for id_, (s, k, q) in found.items()
    }


async def set_follows(
    connection: AsyncConnection,
    subscriber_id: int,
    sections: Iterable[tuple[str, str]],
    keywords: Iterable[str],
    quiet: Iterable[str] = (),
) -> None:
    """Exactly these choices from now on."""
    pairs, words, off = cleaned(sections, keywords, quiet)
    await connection.execute(delete(follows).where(follows.c.subscriber_id == subscriber_id))
    rows = (
        [
            {"subscriber_id": subscriber_id, "kind": SECTION, "country": country, "value": name}
            for country, name in pairs
        ]
        + [
            {"subscriber_id": subscriber_id, "kind": KEYWORD, "country": EVERYWHERE, "value": word}
            for word in words
        ]
        + [
            {"subscriber_id": subscriber_id, "kind": QUIET, "country": code, "value": ""}
            for code in off
        ]
    )
    if rows:
        await connection.execute(follows.insert(), rows)


async def add_follows(
    connection: AsyncConnection,
    subscriber_id: int,
    sections: Iterable[tuple[str, str]],
    keywords: Iterable[str],
    quiet: Iterable[str] = (),
) -> None:
    """These choices as well as those already made (a country's news turned off stays off
    unless sections of it are chosen anew, which bring its news back unless `quiet`)."""
    had = (await follows_of(connection, [subscriber_id])).get(subscriber_id, Choices())
    sections = list(sections)
    renewed = {country for country, _ in sections}
    off = [*(code for code in had.quiet if code not in renewed), *quiet]
    await set_follows(
        connection, subscriber_id, [*had.sections, *sections], [*had.keywords, *keywords], off
    )


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
