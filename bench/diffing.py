"""Diffing alone, as issue 28 asks it measured: the 34 KB Vietnam profile (r1 -> r2, read
with its `select`), every corpus page with two revisions, and a 1.9 MB page whose every
line changed (`micro.py`'s). Medians of `--runs` in-process timings of `diff_pages`; the
documents are read once, before any timing. Run it from two checkouts in one sitting
(`PYTHONPATH=<checkout>/src`) to compare two versions of the code.

    .venv/bin/python bench/diffing.py --runs 9
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import tomllib
from pathlib import Path

from micro import big_documents

from watcher.config import Source
from watcher.diff import diff_pages
from watcher.extract import PageDocument
from watcher.extract.page import extract_page
from watcher.loading import build_config

CORPUS = Path(__file__).parent.parent / "tests" / "corpus"


def source(select: str | None) -> Source:
    data = {"countries": [{"code": "VN", "name": "Vietnam", "sources": [{"url": "http://x/"}]}]}
    if select:
        data["countries"][0]["sources"][0]["select"] = select
    return build_config(data, {}, None).sources[0]


def inflated(root: Path, revision: str) -> str:
    """The Vietnam profile of `revision`, its content repeated to ~34 KB (as `micro.py`'s
    page, for both revisions)."""
    html = (root / revision / "cp" / "vietnam.html").read_text()
    head, _, rest = html.partition('<div id="content">')
    content, _, tail = rest.partition('<div id="footer">')
    grown = content
    while len(head) + len(grown) + len(tail) < 34_000:
        grown += content[:4000]
    return f'{head}<div id="content">{grown}<div id="footer">{tail}'


def pairs() -> dict[str, tuple[PageDocument, PageDocument]]:
    from watcher.demo.site import site_root

    root = site_root()
    profile = source("#content")
    found = {
        "34 KB profile r1 -> r2": (
            extract_page(inflated(root, "r1"), profile),
            extract_page(inflated(root, "r2"), profile),
        ),
        "Vietnam profile r1 -> r2": tuple(  # type: ignore[dict-item]
            extract_page((root / r / "cp" / "vietnam.html").read_text(), profile)
            for r in ("r1", "r2")
        ),
    }
    cases = tomllib.loads((CORPUS / "cases.toml").read_text())["case"]
    corpus: list[tuple[PageDocument, PageDocument]] = []
    for case in cases:
        files = case["revisions"]
        if len(files) < 2 or not files[0].endswith(".html"):
            continue
        chosen = source(case.get("source", {}).get("select"))
        docs = [extract_page((CORPUS / case["name"] / f).read_text(), chosen) for f in files]
        corpus += list(itertools.pairwise(docs))
    found[f"corpus pages ({len(corpus)} pairs)"] = corpus  # type: ignore[assignment]
    found["1.9 MB page, every line changed"] = big_documents()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    for label, docs in pairs().items():
        group = docs if isinstance(docs, list) else [docs]
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            for old, new in group:
                diff_pages(old, new)
            times.append(time.perf_counter() - started)
        print(f"  {label:40} {statistics.median(times) * 1000:9.2f} ms")


if __name__ == "__main__":
    main()
