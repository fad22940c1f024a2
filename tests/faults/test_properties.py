"""Properties that must hold for any input (hypothesis): random HTML and feeds go through
extraction (whole, and for the main content) and diffing without raising anything but a
reasoned `ExtractError`; a document compared with itself is no change; word marks rebuild
both texts exactly; noise learned never hides a line that read the same in both fetches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.config.sources import Source
from watcher.diff import diff_feeds, diff_pages
from watcher.diff.words import word_marks
from watcher.extract import ExtractError, Line, PageDocument
from watcher.extract.document import compare_key
from watcher.extract.feed import extract_feed
from watcher.extract.noise import Noise, learn, without_noise
from watcher.extract.page import extract_page
from watcher.loading import build_config
from watcher.text import clean

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(
    ["Mine Ban Policy", "Last Updated: 02 November 2011", "a: b", "\u202e", "\x1b[2J", "&amp;", ""]
)
TAGS = [
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "ul",
    "li",
    "table",
    "tr",
    "td",
    "th",
    "span",
    "a",
    "sup",
    "script",
    "style",
    "section",
    "br",
    "blockquote",
    "pre",
    "b",
]


def source(**settings_: Any) -> Source:
    settings_.setdefault("url", "https://monitor.example/page.html")
    data = {"countries": [{"code": "VN", "name": "Vietnam", "sources": [settings_]}]}
    return build_config(data, {}, None).sources[0]


PAGE = source()
MAIN = source(content="main")  # trafilatura's reading of the same random markup
FEED = source(url="https://monitor.example/news.rss")


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, attrs, inner: f"<{tag}{attrs}>{''.join(inner)}</{tag}>",
        st.sampled_from(TAGS),
        st.sampled_from(["", ' id="fn1"', " hidden", ' style="display:none"', ' class="x"']),
        st.lists(children, max_size=5),
    )


HTML = st.recursive(TEXT.map(lambda t: t.replace("<", "&lt;")), _element, max_leaves=40).map(
    lambda body: f"<html><body>{body}</body></html>"
) | st.text(max_size=300)


def _page(html: str, page: Source = PAGE) -> Any:
    try:
        return extract_page(html, page)
    except ExtractError as exc:
        assert exc.reason  # a refusal says why  # noqa: PT017
        return None


@BOUNDED
@given(HTML)
def test_any_html_extracts_or_is_refused_with_a_reason(html: str) -> None:
    document = _page(html)
    if document is not None:
        for line in document.lines:
            assert line.text == clean(line.text).strip()
            assert line.text


@BOUNDED
@given(HTML)
def test_any_html_read_for_its_main_content_extracts_or_is_refused_with_a_reason(
    html: str,
) -> None:
    document = _page(html, MAIN)
    if document is not None:
        for line in document.lines:
            assert line.text == clean(line.text).strip()
            assert line.text
        assert diff_pages(document, document) is None


@BOUNDED
@given(HTML)
def test_a_page_compared_with_itself_is_no_change(html: str) -> None:
    document = _page(html)
    if document is not None:
        assert diff_pages(document, document) is None


@BOUNDED
@given(HTML, HTML)
def test_any_two_pages_diff_and_marks_rebuild_both_lines(old_html: str, new_html: str) -> None:
    old, new = _page(old_html), _page(new_html)
    if old is None or new is None:
        return
    change = diff_pages(old, new)
    if change is None:  # no change: the same words, line by line (a heading's level aside)
        assert [compare_key(line.text) for line in old.lines] == [
            compare_key(line.text) for line in new.lines
        ]
        return
    for line in (line for hunk in change.hunks for line in hunk):
        if line.op == "changed" and line.marks is not None:
            assert "".join(t for op, t in line.marks if op != "+") == line.old
            assert "".join(t for op, t in line.marks if op != "-") == line.text


@BOUNDED
@given(TEXT, TEXT)
def test_word_marks_rebuild_both_texts(old: str, new: str) -> None:
    marks = word_marks(old, new)
    assert marks is not None
    assert "".join(text for op, text in marks if op != "+") == old
    assert "".join(text for op, text in marks if op != "-") == new


ENTRY = st.builds(
    lambda title, key, summary, date: (
        f"<item><title>{title}</title><guid>{key}</guid>"
        f"<description>{summary}</description><pubDate>{date}</pubDate></item>"
    ),
    TEXT.map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")),
    st.text(alphabet="abc123-:/", min_size=1, max_size=12),
    TEXT.map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")),
    st.sampled_from(["Mon, 29 Oct 2012 12:00:00 GMT", "yesterday", "", "2012-10-29T12:00:00Z"]),
)
FEEDS = st.lists(ENTRY, max_size=6).map(
    lambda items: (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8", "surrogatepass")
) | st.binary(max_size=300)


def _feed(body: bytes) -> Any:
    try:
        return extract_feed(body, "application/rss+xml", FEED)
    except ExtractError as exc:
        assert exc.reason  # noqa: PT017
        return None


@BOUNDED
@given(FEEDS, FEEDS)
def test_any_feed_extracts_or_is_refused_and_diffs(old_body: bytes, new_body: bytes) -> None:
    old, new = _feed(old_body), _feed(new_body)
    if old is not None:
        change, _ = diff_feeds(old, old)
        assert change is None
        for entry in old.entries:
            assert entry.title == clean(entry.title)
    if old is not None and new is not None:
        diff_feeds(old, new)


LINE_TEXT = st.sampled_from(
    [
        *("Read 1,204 times", "Read 1,305 times", "Banner A", "Banner B", "Banner C"),
        *("2024: 61", "2026: 12", "2026: 13", "Viet Nam acceded", "Viet Nam not acceded"),
        *("48", "Clearance"),
    ]
)
LINES = st.lists(
    st.tuples(st.sampled_from(["text", "row", "item", "h2", "updated"]), LINE_TEXT), max_size=12
)


@BOUNDED
@given(LINES, LINES, LINES)
def test_noise_never_hides_what_read_the_same_in_both_fetches(
    previous: list[tuple[str, str]], first: list[tuple[str, str]], second: list[tuple[str, str]]
) -> None:
    """Whatever three versions of a page are seen, the lines learned as noise never include
    one that read the same in the first and the second fetch (a real edit, or steady text),
    nor a heading or the "Last Updated" line; and the two fetches, without the learned lines,
    differ only in what was not learned."""
    documents = [
        PageDocument(tuple(Line((), kind, text) for kind, text in lines))
        for lines in (previous, first, second)
    ]
    recheck = learn(*documents)
    keys = Noise().adding(recheck.lines, datetime(2026, 12, 1, tzinfo=UTC)).keys
    kept = without_noise(documents[1], keys).lines
    for line in documents[1].lines:
        same_in_both = any(
            compare_key(other.text) == compare_key(line.text) for other in documents[2].lines
        )
        if same_in_both or line.kind in ("h2", "updated"):
            assert line in kept, (line, keys)
    if recheck.refused:
        assert not keys
