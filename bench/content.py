"""Main-content extraction, measured: which words of a page each way keeps. See bench/README.md.

    .venv/bin/python bench/content.py

The pages are the corpus's articles with heavy navigation (`tests/corpus/
article-heavy-navigation/`: semantic HTML5, div soup, a wiki), each with its article marked
`data-truth`. For each way of reading a page: the share of the words kept that belong to
the article (precision), the share of the article's words kept (recall), and the time per
page. The ways: watcher without `select` (`content = "all"`), `content = "main"`
(trafilatura), and readability-lxml's summary (`pip install readability-lxml`; skipped
when it is not installed), the readability-style alternative.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lxml.html

from watcher.extract.page import extract_page, normalize_space
from watcher.loading import build_config

FOLDER = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "article-heavy-navigation"
PAGES = [FOLDER / f"{name}.html" for name in ("semantic", "divs", "wiki")]
RUNS = 20


def words(text: str) -> Counter[str]:
    return Counter(word.strip(".,;:!?\"'()").lower() for word in text.split() if word.strip())


def truth(html: str) -> Counter[str]:
    [article] = lxml.html.document_fromstring(html).xpath("//*[@data-truth]")
    return words(normalize_space(article.text_content()))


def watcher_way(content: str) -> Callable[[str], str]:
    data = {
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"url": "https://x.example/p", "content": content}],
            }
        ]
    }
    source = build_config(data, {}, None).sources[0]
    return lambda html: "\n".join(line.text for line in extract_page(html, source).lines)


def readability_way() -> Callable[[str], str] | None:
    try:
        from readability import Document
    except ImportError:
        return None

    def read(html: str) -> str:
        summary = Document(html).summary(html_partial=True)
        return normalize_space(lxml.html.fragment_fromstring(summary).text_content())

    return read


def main() -> None:
    ways: dict[str, Callable[[str], str] | None] = {
        'watcher, content = "all"': watcher_way("all"),
        'watcher, content = "main" (trafilatura)': watcher_way("main"),
        "readability-lxml": readability_way(),
    }
    print("| way | page | precision | recall | ms a page |")
    print("|---|---|---|---|---|")
    for name, way in ways.items():
        if way is None:
            print(f"| {name} | not installed | | | |")
            continue
        for page in PAGES:
            html = page.read_text()
            expected = truth(html)
            way(html)  # imports and caches: not part of a page's time
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                kept = words(way(html))
                times.append(time.perf_counter() - started)
            common = sum((kept & expected).values())
            precision = common / max(sum(kept.values()), 1)
            recall = common / max(sum(expected.values()), 1)
            ms = statistics.median(times) * 1000
            print(f"| {name} | {page.stem} | {precision:.0%} | {recall:.0%} | {ms:.1f} |")


if __name__ == "__main__":
    main()
