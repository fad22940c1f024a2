"""Documents as they travel from an extraction worker and into the snapshots table: in their
packed (stored) form, made in the worker, so that the service neither unpickles every line
of a 2,000-line page nor encodes and compresses it again to store it; every field reads the
same wherever the document is."""

from __future__ import annotations

import pickle
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.extract.document import (
    Entry,
    FeedDocument,
    Line,
    PageDocument,
    document_from_json,
    top_sections,
)
from watcher.packing import pack, unpack
from watcher.store import create_engine, migrate, read_transaction, write_transaction
from watcher.store.changes import add_snapshots, latest_snapshot
from watcher.store.schema import CompressedJSON, snapshots
from watcher.store.sources import sync_sources


def page() -> PageDocument:
    lines = [Line((), "title", "Viet Nam"), Line((), "updated", "Last Updated: 29 October 2012")]
    for number in range(300):
        section = (f"Section {number // 100}",)
        if number % 100 == 0:
            lines.append(Line(section, "h2", section[0]))
        lines.append(Line(section, "text", f"Line {number} of the profile."))
    return PageDocument(tuple(lines), title="Viet Nam", updated="29 October 2012")


def feed() -> FeedDocument:
    entries = tuple(
        Entry(f"k{n}", f"News {n}", f"https://example.org/{n}", "2012-10-29", "Text")
        for n in range(20)
    )
    return FeedDocument(entries, title="Updates", seen=("old",))


@pytest.mark.parametrize("make", [page, feed])
def test_a_packed_document_travels_as_its_stored_form_and_reads_the_same(make) -> None:  # type: ignore[no-untyped-def]
    original = make()
    packed = original.packed()
    assert unpack(packed) == original.to_json()
    travelled = pickle.loads(pickle.dumps(original, pickle.HIGHEST_PROTOCOL))
    body = "lines" if isinstance(original, PageDocument) else "entries"
    assert body not in travelled.__dict__  # not unpickled line by line: read when asked for
    assert len(pickle.dumps(original)) < len(packed) + 2_000  # the packed bytes, little more
    assert travelled.__dict__["_packed"] is packed or travelled.packed() == packed
    assert travelled.content_hash() == original.content_hash()
    assert travelled.title == original.title
    assert travelled.kind == original.kind
    assert travelled == original  # every field, the body read from the packed form
    assert getattr(travelled, body) == getattr(original, body)
    assert travelled.to_json() == original.to_json()


def test_what_the_service_asks_of_a_travelled_page_needs_no_unpacking() -> None:
    original = page()
    original.finish()  # as the extraction worker does
    travelled = pickle.loads(pickle.dumps(original))
    assert top_sections(travelled) == ["Section 0", "Section 1", "Section 2"]
    assert travelled.outline() == (305, 3)  # lines, sections: what the check's log says
    assert travelled.updated == "29 October 2012"
    assert "lines" not in travelled.__dict__


def test_a_document_never_packed_pickles_as_it_always_did() -> None:
    original = page()
    travelled = pickle.loads(pickle.dumps(original))
    assert "lines" in travelled.__dict__
    assert travelled == original


def test_packed_bytes_are_stored_as_they_are_and_read_back_as_json() -> None:
    column = CompressedJSON()
    data = {"kind": "page", "lines": [[["A"], "text", "é"]]}
    stored = column.process_bind_param(data, None)  # type: ignore[arg-type]
    assert stored == pack(data)
    assert zlib.decompress(stored).startswith(b'{"kind":"page"')
    assert column.process_bind_param(pack(data), None) == pack(data)  # type: ignore[arg-type]
    assert column.process_result_value(stored, None) == data  # type: ignore[arg-type]


async def test_a_travelled_document_is_stored_whole(tmp_path: Path) -> None:
    from watcher.loading import build_config

    config = build_config(
        {
            "countries": [
                {
                    "code": "vn",
                    "name": "Viet Nam",
                    "sources": [{"id": "vn", "url": "https://example.org/vn"}],
                }
            ]
        },
        {},
        None,
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        await migrate(engine)
        now = datetime(2026, 12, 7, tzinfo=UTC)
        async with write_transaction(engine) as connection:
            await sync_sources(connection, config.sources, now)
        original = page()
        original.finish()  # as the extraction worker does
        travelled = pickle.loads(pickle.dumps(original))
        async with write_transaction(engine) as connection:
            await add_snapshots(connection, [("vn", travelled)], now, keep=5)
        assert "lines" not in travelled.__dict__  # stored without being read line by line
        async with read_transaction(engine) as connection:
            stored = await latest_snapshot(connection, "vn")
            raw = (await connection.execute(snapshots.select())).first()
        assert stored == original
        assert raw is not None
        assert raw.content_hash == original.content_hash()
        assert document_from_json(unpack(original.packed())) == original
    finally:
        await engine.dispose()
