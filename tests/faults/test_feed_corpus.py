"""feedparser's own test corpus (some 2,200 feeds: well-formed, ill-formed, every encoding
and entity trick) through watcher's feed extraction: no crash, no hang, and every refusal a
reason a person understands.

The files are not in this repository: the test setup downloads feedparser's source
distribution (the installed version) from the package index into a cache folder
(`WATCHER_TEST_CACHE`, default ~/.cache/watcher-tests) and reads its `tests/` folder.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import feedparser

from tests.faults.deadline import Hung, alarms, within
from tests.packages import pypi_sdist
from watcher.extract import ExtractError
from watcher.extract.feed import extract_feed
from watcher.loading import build_config
from watcher.text import one_line

SECONDS_PER_FEED = 5
RESULTS = Path(__file__).parent / "last-run-feed-corpus.json"
SOURCE = build_config(
    {"countries": [{"code": "VN", "name": "Vietnam", "sources": [{"url": "https://x.org/f"}]}]},
    {},
    None,
).sources[0]


def corpus() -> Path:
    """feedparser's sdist for the installed version, downloaded once."""
    return pypi_sdist("feedparser", feedparser.__version__)


def feeds(archive: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            wanted = parts[-1].endswith((".xml", ".rdf", ".rss", ".atom"))
            if member.isfile() and len(parts) > 2 and parts[1] == "tests" and wanted:
                handle = tar.extractfile(member)
                assert handle is not None
                yield "/".join(parts[2:]), handle.read()


def test_feedparsers_corpus_never_crashes_or_hangs() -> None:
    archive = corpus()
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    hangs: list[str] = []
    unclear: list[str] = []
    reasons: Counter[str] = Counter()
    with alarms():
        for name, body in feeds(archive):
            try:
                with within(SECONDS_PER_FEED):
                    document = extract_feed(body, "application/xml", SOURCE)
            except ExtractError as exc:
                outcomes["refused"] += 1
                reasons[exc.reason.split(" (")[0]] += 1
                if not exc.reason.startswith("not a") or exc.reason != one_line(exc.reason):
                    unclear.append(f"{name}: {exc.reason}")
            except Hung:
                hangs.append(name)
            except Exception as exc:
                crashes.append(f"{name}: {type(exc).__name__}: {exc}")
            else:
                outcomes["read"] += 1
                outcomes["entries"] += len(document.entries)
    RESULTS.write_text(
        json.dumps(
            {
                "feedparser": feedparser.__version__,
                "files": outcomes["read"] + outcomes["refused"] + len(hangs) + len(crashes),
                **outcomes,
                "crashes": len(crashes),
                "hangs": len(hangs),
                "reasons": dict(reasons.most_common()),
            },
            indent=1,
        )
    )
    assert outcomes["read"] + outcomes["refused"] > 2000
    assert crashes == []
    assert hangs == []
    assert unclear == []
