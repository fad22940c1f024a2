"""The tables, in SQLAlchemy Core. Alembic migrations create and evolve them.

Times are stored as naive UTC and handed back as aware UTC datetimes on every backend.
Documents and change records are stored as zlib-compressed JSON.

Every foreign key has an index that leads with its column: deleting a parent row makes the
database find the rows that point at it, and without one it reads the whole child table for
each deleted row (pruning 100 snapshots read a 100,000-row change log 100 times: 6.7 s).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)

from watcher.packing import pack, unpack

# Ids are INTEGER columns: 32 bits on PostgreSQL. A larger id cannot exist.
MAX_ID = 2**31 - 1


def to_utc(moment: datetime) -> datetime:
    """The instant in UTC. One that UTC's calendar cannot write (0001-01-01T00:00+14:00 is
    in year 0) becomes its first or last instant: before, or after, everything stored."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware times")
        return to_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class CompressedJSON(TypeDecorator[Any]):
    """JSON stored packed (`watcher.packing`). A value that is `bytes` is packed already (a
    document packed by the extraction worker that read it) and is stored as it is: JSON
    itself never holds bytes."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return pack(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        return unpack(value) if value is not None else None


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("country", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("kind", String(8)),  # "page" or "feed" once known
    Column("extract_key", String(32)),  # settings that produced the stored snapshot
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("content_hash", String(64)),
    Column("fingerprint", String(64)),  # of the selected markup: unchanged -> no extraction
    Column("status", String(16), nullable=False, default="new"),  # new, ok, failing
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_warning", Text),  # what was off in the last extraction that succeeded
    Column("volatile", Text),  # JSON: the lines learned as noise (extract/noise.py)
    Column("sections", Text),  # JSON: the latest snapshot's top-level headings, for readers
    Column("failing_since", UTCDateTime),
    Column("alerted_at", UTCDateTime),
    # The operator is to be told it keeps failing: set by the check, cleared by the outbox
    # as it composes the alert (notify/alerts.py).
    Column("alert_due", Boolean, nullable=False, server_default=false()),
    Column("last_checked_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_change_at", UTCDateTime),
    Column("next_check_at", UTCDateTime),  # set from the start: a new source is due when added
    # Its place among its host's sources, in configuration order: sources due at the same
    # instant are claimed every host's first, then every host's second (store/sources.py).
    Column("turn", Integer, nullable=False, server_default="0"),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sources_country", "country"),
    Index("ix_sources_due", "active", "next_check_at", "turn", "id"),  # the schedule
    Index("ix_sources_claimed_until", "claimed_until"),  # live claims: the next to expire
    Index("ix_sources_url", "url", postgresql_using="hash"),  # siblings: one fetch for all
    # The few sources whose alert is due, found at every drain without reading the rest.
    Index(
        "ix_sources_alert_due",
        "alert_due",
        postgresql_where=text("alert_due = true"),
        sqlite_where=text("alert_due = 1"),
    ),
)

# The sources added on the desk (web pages, API, `watcher sources add`): their settings as
# `[[countries.sources]]` writes them. Their check state is in `sources`, as every source's.
desk_sources = Table(
    "desk_sources",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("country", String(16), nullable=False),
    Column("country_name", Text),  # a country the file does not have: its name
    Column("settings", Text, nullable=False),  # JSON: url, kind, select, ... (no id, country)
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("removed_at", UTCDateTime),  # removed: not checked, its history kept
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime, nullable=False),
    Column("edited_by", String(254)),  # who: an operator's address, "api" or "cli"
    # Raised by every edit: the sum over the table tells a worker its copy is stale.
    Column("revision", Integer, nullable=False, server_default="1"),
    # A linked document a page follows (`documents = ...`): that page source's id.
    Column("found_on", String(80), index=True),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(80), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("document", CompressedJSON, nullable=False),
    Index("ix_snapshots_source_id", "source_id", "id"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(80), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("country", String(16), nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", CompressedJSON, nullable=False),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="SET NULL")),
    # Review (review/): null when nobody reviews the country; "waiting", "approved" or
    # "discarded" when an editor does.
    Column("review", String(16)),
    Column("review_note", Text),  # approved: the note atop the email; discarded: why
    Column("reviewed_by", String(254)),  # the editor's address, kept as the audit is
    Column("reviewed_at", UTCDateTime),
    Column("reminded_at", UTCDateTime),
    # How much it matters, 0 to 1 (diff/significance.py), and why: a JSON list of phrases.
    Column("significance", Float),
    Column("reasons", Text),
    Index("ix_changes_country_id", "country", "id"),
    Index("ix_changes_review", "review"),
    Index("ix_changes_source_id", "source_id", "id"),
    Index("ix_changes_detected_at", "detected_at"),
    Index("ix_changes_snapshot_id", "snapshot_id"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),  # "" for a channel's subscriber
    Column("channel", String(40)),  # a configured channel's name (notify/channels/)
    # The address lower-cased, for uniqueness; "channel:NAME" for a channel's subscriber.
    Column("email_key", String(254), nullable=False),
    Column("frequency", String(16), nullable=False, default="immediate"),
    Column("status", String(16), nullable=False),  # pending, active, suspended, unsubscribed
    Column("origin", String(16), nullable=False),  # config, cli, api, web
    Column("token", String(64), nullable=False),  # secret of the unsubscribe and manage links
    Column("confirm_hash", String(64)),
    Column("confirm_expires_at", UTCDateTime),
    Column("confirm_sent_at", UTCDateTime),
    Column("requested_countries", Text),  # a web request awaiting confirmation: "VN,LA"
    Column("requested_frequency", String(16)),
    Column("requested_follows", Text),  # JSON: the sections and keywords asked for
    Column("hard_bounces", Integer, nullable=False, default=0),
    # Told only of the changes whose significance reaches significance.notable.
    Column("notable", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("email_key"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("country", String(16), primary_key=True),  # a country code, or "*" for all
    Index("ix_subscriptions_country", "country"),
)

editors = Table(
    "editors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False),
    Column("password_hash", Text),  # Argon2id; null until the invitation is used
    Column("status", String(16), nullable=False),  # invited, active, removed
    Column("see_subscribers", Boolean, nullable=False, default=False),
    # "editor" (reviews changes) or "operator" (also sources and subscribers, on the desk)
    Column("role", String(16), nullable=False, server_default="editor"),
    Column("invite_hash", String(64)),  # SHA-256 of the set-password link's secret
    Column("invite_expires_at", UTCDateTime),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
    UniqueConstraint("email_key"),
)

editor_sessions = Table(
    "editor_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's session secret
    Column("editor_id", Integer, ForeignKey("editors.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_editor_sessions_editor_id", "editor_id"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("editor", String(254), nullable=False),  # who (an address, or "operator")
    Column("action", String(32), nullable=False),  # approved, discarded, signed in, ...
    Column("change_id", Integer),  # what (kept after the change is pruned)
    Column("detail", Text),
    Index("ix_audit_at", "at"),
)

follows = Table(
    "follows",
    metadata,
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(16), primary_key=True),  # "section" or "keyword"
    Column("country", String(16), primary_key=True),  # a section's country, or "*"
    Column("value", String(200), primary_key=True),  # the section's heading, or the keyword
    Index("ix_follows_kind_country", "kind", "country"),  # who follows everywhere
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # change, digest, confirm, alert
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="SET NULL")),
    Column("recipient", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", String(255), nullable=False),  # the Message-ID header
    Column("body", LargeBinary, nullable=False),  # the RFC 5322 bytes, exactly as sent
    Column("period", String(64)),  # digests only: "daily:2026-11-23T07:00:00+00:00"
    Column("status", String(16), nullable=False),  # queued, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("body_dropped_at", UTCDateTime),  # retention, or its reader erased themselves
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    UniqueConstraint("subscriber_id", "period"),
    Index("ix_messages_status_next_attempt_at_id", "status", "next_attempt_at", "id"),  # claims
    Index("ix_messages_claimed_until", "claimed_until"),  # live claims, among every mail sent
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("change_id", Integer, ForeignKey("changes.id", ondelete="CASCADE"), nullable=False),
    Column("country", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, composed, dropped
    Column("frequency", String(16)),  # the reader's, while pending: immediate, daily, weekly
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    UniqueConstraint("subscriber_id", "change_id"),
    # A drain walks one frequency's news in subscriber order; a digest, the news before its
    # period's end; the settle window, the immediate news of the last minutes.
    Index(
        "ix_notifications_status_frequency_subscriber_id", "status", "frequency", "subscriber_id"
    ),
    Index("ix_notifications_status_frequency_created_at", "status", "frequency", "created_at"),
    Index("ix_notifications_change_id", "change_id"),
    Index("ix_notifications_message_id", "message_id"),
)
