"""The operator's care of readers, the same from the desk's pages, the API and the command
line: one reader's mail, unsubscribe, erase, and the list as CSV (export, and import: a
confirmation email to each new address unless the operator states they consented).

A reader declared in the configuration file is the file's: erasing them is refused with its
name (the file would bring them back at the next reload); unsubscribing them sticks, as their
own link's does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from watcher.app import App
from watcher.config.model import FREQUENCIES, check_email, country_key
from watcher.desk.errors import NoSuchReader, OwnedByFile
from watcher.render.times import iso
from watcher.store import read_transaction, write_transaction
from watcher.store.messages import Message, messages_of
from watcher.store.personal import erase_reader
from watcher.store.subscribers import (
    Subscriber,
    find_subscriber,
    list_subscribers,
    subscribe,
    unsubscribe_subscriber,
)

# The columns of the CSV, exported and imported; an import reads `email` and those of the
# choices, and leaves the others (what an export adds) aside. Lists are ";"-separated.
COLUMNS = (
    "email",
    "countries",
    "sections",
    "keywords",
    "news_off",
    "frequency",
    "status",
    "origin",
    "created_at",
    "confirmed_at",
)
MAX_IMPORT = 50_000  # rows in one import


async def reader_named(app: App, email: str) -> Subscriber:
    async with read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
    if reader is None:
        raise NoSuchReader(f"{email} is not a subscriber")
    return reader


def _refuse_declared(app: App, reader: Subscriber) -> None:
    if reader.origin == "config":
        raise OwnedByFile(
            f"{reader.address} is declared in {app.config.file_name}: remove them there"
        )


async def erase(app: App, email: str) -> tuple[Subscriber, int]:
    """Erase a reader as their own erase does: their subscription, choices and waiting news
    go; the mail sent to them stays only as counts (how many such messages)."""
    async with write_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
        if reader is None:
            raise NoSuchReader(f"{email} is not a subscriber")
        _refuse_declared(app, reader)
        kept = await erase_reader(connection, reader, app.clock())
    return reader, kept


async def unsubscribe(app: App, email: str) -> Subscriber:
    """No more mail to this reader (their choices are kept, should they come back), as
    their own unsubscribe link does: a reader declared in the file stays unsubscribed too."""
    async with write_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
        if reader is None:
            raise NoSuchReader(f"{email} is not a subscriber")
        await unsubscribe_subscriber(connection, reader, app.clock())
    return reader


async def mail_of(app: App, reader: Subscriber, limit: int = 100) -> list[Message]:
    """The messages queued for this reader, newest first."""
    async with read_transaction(app.engine) as connection:
        return await messages_of(connection, reader.id, limit=limit)


def export_csv(readers: Sequence[Subscriber]) -> str:
    """The readers as CSV (`COLUMNS`), a header first. A cell that a spreadsheet would take
    for a formula is written with a leading quote (OWASP's CSV injection advice)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for reader in readers:
        row = [
            reader.address,
            ";".join(reader.countries),
            ";".join(f"{code}: {name}" for code, name in reader.sections),
            ";".join(reader.keywords),
            ";".join(reader.quiet),
            reader.frequency,
            reader.status,
            reader.origin,
            iso(reader.created_at) or "",
            iso(reader.confirmed_at) or "",
        ]
        writer.writerow([_inert(cell) for cell in row])
    return out.getvalue()


def _inert(cell: str) -> str:
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


async def all_readers(app: App, search: str | None = None) -> list[Subscriber]:
    async with read_transaction(app.engine) as connection:
        return await list_subscribers(connection, include_inactive=True, search=search)


@dataclass
class Imported:
    """What an import did: readers added (consent stated), confirmations sent, addresses
    already following all they asked, addresses sent a confirmation minutes ago (not sent
    another), and each row refused with its line and why."""

    added: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # a confirmation went out moments ago
    problems: list[str] = field(default_factory=list)

    def words(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} added (consent stated)")
        if self.asked:
            parts.append(f"{len(self.asked)} asked to confirm by email")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already followed all of it")
        if self.waiting:
            parts.append(f"{len(self.waiting)} sent a confirmation minutes ago, not again")
        if self.problems:
            parts.append(f"{len(self.problems)} refused")
        return ", ".join(parts) or "nothing to import"


@dataclass(frozen=True)
class _Row:
    email: str
    countries: list[str]
    sections: list[tuple[str, str]]
    keywords: list[str]
    quiet: list[str]
    frequency: str | None


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def _row(app: App, record: dict[str, str | None]) -> _Row:
    """One CSV row checked, or `ValueError` saying what is wrong with it."""
    email = check_email((record.get("email") or "").strip().removeprefix("'"))
    known = {country.code for country in app.settings.countries}
    countries = [country_key(code) for code in _split(record.get("countries"))]
    sections = []
    for text in _split(record.get("sections")):
        code, colon, name = text.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"{text!r}: write a section as 'CODE: Section name'")
        sections.append((country_key(code), name.strip()))
    unknown = sorted({c for c in [*countries, *(c for c, _ in sections)] if c != "*"} - known)
    if unknown:
        raise ValueError(f"no such country: {', '.join(unknown)}")
    keywords = _split(record.get("keywords"))
    if not (countries or sections or keywords):
        raise ValueError("nothing to follow: give countries, sections or keywords")
    frequency = (record.get("frequency") or "").strip() or None
    if frequency is not None and frequency not in FREQUENCIES:
        raise ValueError(f"frequency {frequency!r}: immediate, daily or weekly")
    quiet = [country_key(code) for code in _split(record.get("news_off"))]
    return _Row(email, countries, sections, keywords, quiet, frequency)


async def import_csv(app: App, text: str, *, consent: bool, by: str) -> Imported:
    """Subscribe the readers of a CSV (`email` and `countries`, `sections`, `keywords`,
    `news_off`, `frequency`; other columns aside). With `consent` (the operator states the
    readers agreed), each is subscribed at once, origin "import"; without, each address is
    sent the confirmation the subscribe form sends, and nothing starts until its link is
    used. A reader who unsubscribed (or whose mail bounced) is never subscribed again by an
    import. A row written wrong is refused with its line; the others are imported."""
    done = Imported()
    table = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        names = table.fieldnames
    except csv.Error as exc:  # a field past the csv module's limit, a stray NUL, ...
        done.problems.append(f"line 1: not CSV watcher can read ({exc})")
        return done
    if names is None or "email" not in [name.strip() for name in names]:
        done.problems.append("line 1: the first line names the columns, 'email' among them")
        return done
    table.fieldnames = [name.strip() for name in names]
    try:
        await _import_rows(app, table, done, consent=consent, by=by)
    except csv.Error as exc:
        done.problems.append(f"line {table.line_num}: not CSV watcher can read ({exc}); stopped")
    return done


async def _import_rows(
    app: App, table: csv.DictReader[str], done: Imported, *, consent: bool, by: str
) -> None:
    from watcher.notify.confirmations import send_confirmation
    from watcher.store.editors import record as audit

    for number, record in enumerate(table, start=2):
        if number - 1 > MAX_IMPORT:
            done.problems.append(f"line {number}: more than {MAX_IMPORT} rows; the rest skipped")
            break
        try:
            row = _row(app, record)
        except ValueError as exc:
            done.problems.append(f"line {number}: {exc}")
            continue
        now = app.clock()
        async with write_transaction(app.engine) as connection:
            existing = await find_subscriber(connection, row.email)
            if existing is not None and existing.origin == "config":
                done.problems.append(
                    f"line {number}: {row.email} is declared in {app.config.file_name}"
                )
                continue
            if existing is not None and existing.status in ("unsubscribed", "suspended"):
                why = "unsubscribed" if existing.status == "unsubscribed" else "bounced"
                done.problems.append(
                    f"line {number}: {row.email} {why}: not subscribed again by an import"
                    " (they may subscribe again on the site)"
                )
                continue
            if existing is not None and existing.status == "active" and _covers(existing, row):
                done.unchanged.append(row.email)
                continue
            if consent:
                await subscribe(
                    connection,
                    email=row.email,
                    countries=row.countries,
                    frequency=row.frequency,
                    origin="import",
                    now=now,
                    sections=row.sections,
                    keywords=row.keywords,
                    quiet=row.quiet,
                )
                await audit(connection, now, by, "reader imported", detail="consent stated")
                done.added.append(row.email)
                continue
        sent = await send_confirmation(
            app.engine,
            app.composer,
            email=row.email,
            countries=row.countries,
            frequency=row.frequency or "immediate",
            sections=row.sections,
            keywords=row.keywords,
            now=now,
            quiet=row.quiet,
            origin="import",
        )
        (done.asked if sent else done.waiting).append(row.email)


def _covers(reader: Subscriber, row: _Row) -> bool:
    """Does the reader follow all the row asks for already?"""
    return (
        set(row.countries) <= set(reader.countries)
        and set(row.sections) <= set(reader.sections)
        and {k.lower() for k in row.keywords} <= {k.lower() for k in reader.keywords}
    )
