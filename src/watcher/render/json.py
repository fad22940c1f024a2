"""The documented JSON shapes (docs/json.md), shared by the `--json` commands and the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watcher.config import Config
from watcher.extract.noise import Noise
from watcher.extract.preview import Preview, Section, sections_of
from watcher.render.times import iso
from watcher.store.changes import ChangeRecord, Version
from watcher.store.messages import Message
from watcher.store.sources import SourceState
from watcher.store.subscribers import Subscriber


def source_json(state: SourceState, config: Config) -> dict[str, Any]:
    source = config.source(state.id)
    return {
        "id": state.id,
        "country": state.country,
        "country_name": config.country_name(state.country),
        "name": state.name,
        "url": state.url,
        "kind": state.kind or (source.kind if source else None),
        "status": state.status,
        "failures": state.failures,
        "last_error": state.last_error,
        "last_warning": state.last_warning,
        "noise_lines": len(Noise.from_json(state.volatile).lines),
        "failing_since": iso(state.failing_since),
        "last_checked_at": iso(state.last_checked_at),
        "last_success_at": iso(state.last_success_at),
        "last_change_at": iso(state.last_change_at),
        "next_check_at": iso(state.next_check_at),
        "origin": config.origin(state.id),
        "linked_from": source.found_on if source else None,
        "paused": state.id in config.paused,
    }


def version_json(version: Version, *, full: bool) -> dict[str, Any]:
    """A stored version of a source: its id and time; `full`, its text in sections."""
    data: dict[str, Any] = {"id": version.id, "taken_at": iso(version.taken_at)}
    if full:
        data["sections"] = sections_json(sections_of(version.document))
    return data


def sections_json(sections: Sequence[Section]) -> list[dict[str, Any]]:
    return [{"path": list(section.path), "lines": list(section.lines)} for section in sections]


def noise_json(state: SourceState) -> dict[str, Any]:
    """The lines a source learned as noise (`watcher noise --json`)."""
    return {
        "id": state.id,
        "country": state.country,
        "url": state.url,
        "lines": [
            {"key": line.key, "example": line.example, "learned_at": line.learned_at}
            for line in Noise.from_json(state.volatile).lines
        ],
    }


def change_json(record: ChangeRecord, config: Config, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "detected_at": iso(record.detected_at),
        "country": record.country,
        "country_name": config.country_name(record.country),
        "source_id": record.source_id,
        "source_name": record.source_name,
        "url": record.source_url,
        "kind": record.kind,
        "summary": record.summary,
        "significance": record.significance,
        "reasons": list(record.reasons),
        "review": review_json(record),
    }
    if full:
        data["change"] = record.change.to_json()
    return data


def review_json(record: ChangeRecord) -> dict[str, Any] | None:
    """Where an editor's review stands: null for a country nobody reviews."""
    if record.review is None:
        return None
    return {"state": record.review, "note": record.review_note, "at": iso(record.reviewed_at)}


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "email": subscriber.address,  # `channel:NAME` for a channel's, as it always was
        "channel": subscriber.channel,
        "countries": list(subscriber.countries),
        "sections": [
            {"country": country, "section": name} for country, name in subscriber.sections
        ],
        "keywords": list(subscriber.keywords),
        "news_off": list(subscriber.quiet),
        "notable": subscriber.notable,
        "frequency": subscriber.frequency,
        "status": subscriber.status,
        "origin": subscriber.origin,
        "created_at": iso(subscriber.created_at),
        "confirmed_at": iso(subscriber.confirmed_at),
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind,
        "status": message.status,
        "recipient": message.recipient,
        "subject": message.subject,
        "message_id": message.message_id,
        "attempts": message.attempts,
        "next_attempt_at": iso(message.next_attempt_at) if message.status == "queued" else None,
        "last_error": message.last_error,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "body_dropped_at": iso(message.body_dropped_at),
    }


def preview_json(preview: Preview) -> dict[str, Any]:
    """A source tried before it is saved (`check/preview.py`), as the API and `watcher try
    --json` give it."""
    return {
        "kind": preview.kind,
        "last_updated": preview.last_updated,
        "sections": sections_json(preview.sections),
        "warnings": list(preview.warnings),
        "removed": list(preview.removed),
    }
