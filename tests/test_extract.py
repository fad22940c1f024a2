"""Extraction: pages into sectioned lines, feeds into entries, bytes into text."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from tests.configs import source
from tests.samples import page
from watcher.config import Source
from watcher.extract import ExtractError
from watcher.extract.feed import extract_feed, looks_like_feed
from watcher.extract.page import extract_page, is_layout_table, select
from watcher.fetch import DecodeError, decode_body


def texts(document: Any) -> list[str]:
    return [line.text for line in document.lines]


def test_vietnam_profile_becomes_sections_rows_and_footnotes(example_site_root: Path) -> None:
    document = extract_page(
        page(example_site_root, "r2", "vietnam.html"), source(select="#content")
    )
    assert document.title == "Vietnam"
    assert document.updated == "29 October 2012"
    headings = [(line.kind, line.section) for line in document.lines if line.kind.startswith("h")]
    assert headings == [
        ("h2", ("Mine Ban Policy",)),
        ("h3", ("Mine Ban Policy", "Mine ban policy overview")),
        ("h3", ("Mine Ban Policy", "Policy")),
        ("h3", ("Mine Ban Policy", "Production, stockpiling, transfer, and use")),
        ("h2", ("Cluster Munition Ban Policy",)),
        ("h3", ("Cluster Munition Ban Policy", "Policy")),
    ]
    rows = [line.text for line in document.lines if line.kind == "row"]
    assert rows[0] == "Mine Ban Treaty status: Not a State Party"
    footnotes = {line.text[:4]: line.section for line in document.lines if line.kind == "footnote"}
    # Each footnote sits under the section that cites it, not under whatever precedes the notes.
    assert footnotes["[12]"] == ("Mine Ban Policy", "Policy")
    assert footnotes["[13]"] == ("Cluster Munition Ban Policy", "Policy")
    assert footnotes["[4] "] == ("Mine Ban Policy", "Production, stockpiling, transfer, and use")
    every = "\n".join(texts(document))
    assert "UA-0000000" not in every  # scripts are dropped
    assert "Page generated" not in every  # outside #content
    assert "\xa0" not in every


def test_windows_1252_page_keeps_its_curly_quotes(example_site_root: Path) -> None:
    raw = (example_site_root / "r1" / "cp" / "lao-pdr.html").read_bytes()
    decoded = decode_body(raw, "text/html")
    assert decoded.origin == "meta"
    assert decoded.charset == "cp1252"
    document = extract_page(decoded.text, source(select="#content"))
    text = "\n".join(texts(document))
    assert "the convention\u2019s First Meeting" in text
    assert "\u201cVientiane Declaration\u201d" in text
    assert document.updated == "19 October 2011"


def test_no_select_keeps_the_whole_body_but_not_scripts(example_site_root: Path) -> None:
    document = extract_page(page(example_site_root, "r1", "vietnam.html"), source())
    every = "\n".join(texts(document))
    assert "Page generated on 2011-11-14" in every
    assert "About Us" in every
    assert "_gaq" not in every


def test_select_that_matches_nothing_fails() -> None:
    with pytest.raises(ExtractError, match="matched nothing"):
        extract_page("<html><body><p>x</p></body></html>", source(select="#content"))


def test_exclude_ignore_hidden_and_xpath() -> None:
    html = """<html><body><div id="main">
      <h2>Policy</h2>
      <p>Kept paragraph.</p>
      <div class="share-buttons"><p>Share this</p></div>
      <p hidden>Hidden by attribute</p>
      <p style="DISPLAY: none">Hidden by style</p>
      <p aria-hidden="true">Hidden from readers</p>
      <p>Page generated in 0.3 seconds</p>
      <noscript>Enable JS</noscript><style>p{}</style>
      <ul><li>First item</li><li>Second <b>bold</b> item</li></ul>
      <p>Line one<br>Line two</p>
    </div></body></html>"""
    document = extract_page(
        html,
        source(
            select="xpath://div[@id='main']", exclude=[".share-buttons"], ignore=["^Page generated"]
        ),
    )
    assert texts(document) == [
        "Policy",
        "Kept paragraph.",
        "First item",
        "Second bold item",
        "Line one",
        "Line two",
    ]
    assert [line.kind for line in document.lines][2:4] == ["item", "item"]
    assert all(line.section == ("Policy",) for line in document.lines)


def test_the_text_of_interactive_elements_is_kept_where_it_is_content() -> None:
    """Swagger UI puts each operation's method, path and summary in a button; an accordion's
    section names are buttons in headings; a disclosure's summary and a form's labels say
    what they hold. Before, every button was dropped with its content, so renaming a path
    was "unchanged". A button that only works the page ("Print", "Close") is still chrome."""
    html = """<html><body><div id="main">
      <h2><button aria-expanded="true" aria-controls="mbp">Mine Ban Policy</button></h2>
      <div id="mbp"><p>Viet Nam has not acceded.</p></div>
      <div class="opblock-summary"><button class="opblock-summary-control"><span
        class="opblock-summary-method">GET</span><span class="opblock-summary-path"><a
        href="#/pet/getPetById">/pet/{petId}</a></span><div
        class="opblock-summary-description">Find pet by ID</div></button><button
        class="authorization__btn" aria-label="authorization button unlocked"></button></div>
      <button aria-expanded="false" aria-controls="more">Casualties by province</button>
      <button aria-expanded="false" aria-controls="nav" class="hamburger">Menu</button>
      <button aria-expanded="false" aria-controls="rest">Show more…</button>
      <details><summary>Sources</summary><p>National mine action centre.</p></details>
      <form><label for="year">Year of the report</label><select id="year"><option>2025
        </option></select><button type="submit">Go</button></form>
      <p>Kept paragraph. <button onclick="print()">Print</button><button>Close</button></p>
      <script>var x = "<button>in a script</button>";</script>
      <button hidden aria-expanded="false">Hidden disclosure</button>
    </div></body></html>"""
    document = extract_page(html, source(select="#main"))
    assert texts(document) == [
        "Mine Ban Policy",
        "Viet Nam has not acceded.",
        "GET /pet/{petId} Find pet by ID",
        "Casualties by province",
        "Sources",
        "National mine action centre.",
        "Year of the report",
        "Kept paragraph.",
    ]
    assert document.lines[0].kind == "h2"


def test_whitespace_is_normalised() -> None:
    one = extract_page("<body><p>A  b\n\tc&nbsp; d\u200b</p></body>", source())
    two = extract_page("<body>\n<p>\nA b c d\n</p></body>", source())
    assert texts(one) == texts(two) == ["A b c d"]
    assert one.content_hash() == two.content_hash()


def test_tables_with_a_header_row_name_their_columns() -> None:
    html = """<body><table>
      <tr><th>Year</th><th>Casualties</th></tr>
      <tr><td>2010</td><td>47</td></tr>
      <tr><td>2011</td><td>53</td></tr>
    </table><table><tr><td>a</td><td>b</td></tr></table></body>"""
    assert texts(extract_page(html, source())) == [
        "Year: 2010; Casualties: 47",
        "Year: 2011; Casualties: 53",
        "a | b",
    ]


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Last Updated: 02 November 2011", "02 November 2011"),
        ("Last updated 2 Nov. 2011", "2 Nov. 2011"),
        ("Last modified: November 2, 2011", "November 2, 2011"),
        ("Updated on 2011-11-02", "2011-11-02"),
        ("Last reviewed \u2013 02/11/2011", "02/11/2011"),
    ],
)
def test_last_updated_dates_are_recognised(line: str, date: str) -> None:
    document = extract_page(f"<body><h1>T</h1><p>{line}</p><h2>S</h2></body>", source())
    assert document.updated == date


def test_updated_pattern_can_be_overridden_and_long_lines_are_not_dates() -> None:
    long_line = "It was updated on 2 May 2010 to add the reporting period " + "and more " * 20
    document = extract_page(f"<body><p>{long_line}</p></body>", source())
    assert document.updated is None
    custom = source(updated_pattern=r"Stand: (?P<date>\d\d\.\d\d\.\d{4})")
    assert extract_page("<body><p>Stand: 01.02.2012</p></body>", custom).updated == "01.02.2012"


# Charset: BOM, then header, then meta, then detection (the WHATWG Encoding Standard).


def test_charset_header_wins_over_meta() -> None:
    body = '<meta charset="windows-1252"><p>caf\u00e9</p>'.encode()
    assert decode_body(body, "text/html; charset=utf-8").text.endswith("caf\u00e9</p>")


def test_charset_from_bom_then_meta_then_detection() -> None:
    assert decode_body(codecs.BOM_UTF8 + "é".encode(), "text/html").origin == "bom"
    utf16 = codecs.BOM_UTF16_LE + "<p>é</p>".encode("utf-16-le")
    assert decode_body(utf16, None).text == "<p>é</p>"
    latin = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\u201cq\u201d'
    assert decode_body(latin.encode("cp1252"), None).text.endswith("\u201cq\u201d")
    detected = decode_body("<p>Привет, как дела? Всё хорошо.</p>".encode("cp1251"), "text/html")
    assert detected.origin == "detected"
    assert "Привет" in detected.text


@pytest.mark.parametrize("label", ["rot13", "hex", "base64", "undefined", "zlib", "x-nonsense"])
def test_a_label_that_is_no_charset_is_ignored_as_browsers_ignore_it(label: str) -> None:
    body = "<p>caf\u00e9</p>".encode()
    decoded = decode_body(body, f"text/html; charset={label}")
    assert (decoded.text, decoded.origin) == ("<p>caf\u00e9</p>", "detected")
    meta = f'<meta charset="{label}"><p>caf\u00e9</p>'.encode()
    assert decode_body(meta, "text/html").text.endswith("caf\u00e9</p>")


def test_labels_follow_the_encoding_standard() -> None:
    assert decode_body(b"\x93q\x94", "text/html; charset=latin1").text == "\u201cq\u201d"
    assert decode_body("\u4e2d".encode("gb18030"), "text/html; charset=gb2312").text == "\u4e2d"
    bom = codecs.BOM_UTF8 + "\u00e9".encode()
    assert decode_body(bom, "text/html; charset=windows-1252").text == "\u00e9"  # BOM wins
    ascii_utf16 = b'<meta charset="utf-16"><p>caf\xc3\xa9</p>'
    assert decode_body(ascii_utf16, None).text.endswith("caf\u00e9</p>")
    with pytest.raises(DecodeError, match="browsers refuse"):
        decode_body(b"<p>x</p>", "text/html; charset=iso-2022-kr")


def test_undecodable_bytes_are_a_clear_failure() -> None:
    with pytest.raises(DecodeError, match="not valid utf-8 as declared by the Content-Type"):
        decode_body(b"<p>caf\xe9</p>", "text/html; charset=utf-8")
    with pytest.raises(DecodeError, match="binary"):
        decode_body(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", None)


# Feeds.


def feed_source(**settings: Any) -> Source:
    settings.setdefault("url", "https://monitor.example/news.rss")
    settings.setdefault("kind", "feed")
    return source(**settings)


def test_rss_entries_are_filtered_by_match(example_site_root: Path) -> None:
    body = (example_site_root / "r2" / "news.rss").read_bytes()
    vietnam = extract_feed(body, "application/rss+xml", feed_source(match="Vietnam"))
    assert [entry.key for entry in vietnam.entries] == [
        "profile-vietnam-2012-10-29",
        "profile-vietnam-2011-11-02",
        "news-2010-05-10-cmc-vietnam",
    ]
    laos = extract_feed(body, "application/rss+xml", feed_source(match="Lao PDR"))
    assert [entry.key for entry in laos.entries] == ["news-2010-11-08-1msp"]
    assert vietnam.entries[0].date == "2012-10-29T12:00:00Z"


def test_atom_entries_keep_id_title_date_and_summary(example_site_root: Path) -> None:
    body = (example_site_root / "r2" / "cp" / "lao-pdr.atom").read_bytes()
    [entry] = extract_feed(body, "application/atom+xml", feed_source()).entries
    assert entry.key == "tag:monitor.test,2011:lao-pdr/ccm-report"
    assert entry.title.endswith("(corrected)")
    assert entry.date == "2012-05-02T10:00:00Z"
    assert entry.link == "http://monitor.test/cp/lao-pdr.html#ccm"


def test_entries_without_id_are_keyed_by_link_and_markup_is_stripped() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>A &lt;b&gt;bold&lt;/b&gt; move</title><link>https://x.example/a</link>
      <description>&lt;p&gt;Hello &lt;script&gt;alert(1)&lt;/script&gt;world&lt;/p&gt;</description>
      </item></channel></rss>"""
    [entry] = extract_feed(body, "application/rss+xml", feed_source()).entries
    assert entry.key == "https://x.example/a"
    assert entry.title == "A bold move"
    assert "<" not in entry.summary
    assert "alert" not in entry.summary


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/rss+xml", "the body is empty"),
        (b"<!DOCTYPE html><html><body><p>Oops</p></body></html>", "text/html", "HTML page"),
        (b"\x00\x01\x02binary", "application/octet-stream", "not a usable feed"),
        (b"<?xml version='1.0'?><rss><chan", "application/rss+xml", "not a usable feed"),
    ],
)
def test_feeds_with_nothing_usable_fail(body: bytes, content_type: str, expected: str) -> None:
    with pytest.raises(ExtractError, match=expected):
        extract_feed(body, content_type, feed_source())


def test_malformed_feeds_keep_what_parsed() -> None:
    truncated = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Complete</title><guid>1</guid></item><item><title>Cut"
    )
    assert [e.title for e in extract_feed(truncated, "application/rss+xml", feed_source()).entries][
        :1
    ] == ["Complete"]
    wrong_encoding = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        "<item><title>Caf\u00e9 r\u00e9union</title><guid>1</guid></item></channel></rss>"
    ).encode("latin-1")
    [entry] = extract_feed(wrong_encoding, "application/rss+xml", feed_source()).entries
    assert entry.title.startswith("Caf")


def test_page_or_feed_is_detected() -> None:
    assert looks_like_feed(b"<?xml version='1.0'?><rss>", "text/xml")
    assert looks_like_feed(b"<feed xmlns='http://www.w3.org/2005/Atom'>", None)
    assert not looks_like_feed(b"<!DOCTYPE html><html>", "text/html; charset=utf-8")
    assert not looks_like_feed(b"<html>", None)


def test_the_fingerprint_covers_exactly_what_the_document_reads() -> None:
    from watcher.extract.page import document_of, select

    def both(html: str) -> tuple[str, list[str]]:
        chosen = select(html, source(select="#main"))
        return chosen.fingerprint(), texts(document_of(chosen, source(select="#main")))

    base = '<body><div id="main"><p>Policy text.</p></div> tail one <p>outside</p></body>'
    tail = '<body><div id="main"><p>Policy text.</p></div> tail two <p>elsewhere</p></body>'
    inside = '<body><div id="main"><p>Policy text, revised.</p></div> tail one</body>'
    script = '<body><div id="main"><p>Policy text.</p><script>x=1</script></div></body>'
    assert both(base) == both(tail)  # outside the selection: neither sees it
    assert both(base)[1] == ["Policy text."]
    assert both(inside)[0] != both(base)[0]
    assert both(script) == both(base)  # scripts are dropped before fingerprinting


# Main content (`content = "main"`).


def test_main_content_keeps_the_article_with_its_sections_and_drops_the_furniture() -> None:
    html = (Path(__file__).parent / "corpus/article-heavy-navigation/wiki.html").read_text()
    main = extract_page(html, source(content="main"))
    texts = [line.text for line in main.lines]
    assert main.title == "Mine action in Laos"
    assert {line.section[0] for line in main.lines if line.section} == {
        "History",
        "Organisations",
        "Treaty status",
    }
    assert "UXO Lao, the national clearance operator" in texts
    assert not any("Log in" in text or "Privacy policy" in text for text in texts)
    whole = extract_page(html, source())
    assert any("Privacy policy" in line.text for line in whole.lines)


def test_main_content_that_cannot_be_found_keeps_the_whole_body_and_says_so() -> None:
    html = "<html><body><img src='map.png' alt=''><p></p></body></html>"
    warnings: list[str] = []
    selection = select(html, source(content="main"), warnings)
    assert warnings == ["no main content found on the page: its whole body is kept"]
    assert selection.parts[0].tag == "body"


def test_select_wins_over_main_content_and_switching_takes_a_fresh_baseline() -> None:
    chosen = source(select="#content", content="main")
    assert chosen.extract_key == source(select="#content").extract_key
    assert source(content="main").extract_key != source().extract_key
    assert source(content="all").extract_key == source().extract_key


@pytest.mark.parametrize(
    ("markup", "layout"),
    [
        ("<tr><th>Operator</th><th>km2</th></tr><tr><td>MAG</td><td>11.7</td></tr>", False),
        ("<tr><td><p>MAG</p></td><td><p>11.7</p></td></tr>", False),  # an editor's <p>s
        ("<tr><td><div>11.7</div><div>km2</div></td><td>MAG</td></tr>", False),
        ("<tr><td><h2>Policy</h2><p>Text.</p></td><td>Menu</td></tr>", True),
        ("<tr><td><p>One.</p><p>Two.</p></td><td>Menu</td></tr>", True),
        ("<tr><td><div>a</div><div>b</div><div>c</div></td><td>Menu</td></tr>", True),
        ("<tbody><tr><td><ul><li>x</li></ul></td><td>1</td></tr></tbody>", True),
        ("<tr><td>Banner</td></tr><tr><td>Content</td></tr>", True),  # one column
    ],
)
def test_layout_tables_are_told_from_data_tables(markup: str, layout: bool) -> None:
    table = lxml.html.fragment_fromstring(f"<table>{markup}</table>")
    assert is_layout_table(table) is layout
    presentation = lxml.html.fragment_fromstring(f"<table role='presentation'>{markup}</table>")
    assert is_layout_table(presentation)


def test_a_feed_declaring_its_own_entities_is_read_without_expanding_them() -> None:
    """Billion laughs: nine levels of entities, each ten of the one below. The feed's own
    entity declarations are set aside before parsing (no parser expands them, in a
    million callbacks or at all), its entries read, the references left as text."""
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    body = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + levels + "]>"
        '<rss version="2.0"><channel><title>News &lol9;</title><item><title>Laughs &lol9;'
        "</title><guid>1</guid><link>http://example.org/1</link></item></channel></rss>"
    ).encode()
    warnings: list[str] = []
    [entry] = extract_feed(body, "application/rss+xml", feed_source(), warnings).entries
    assert "lollol" not in entry.title
    assert entry.title.startswith("Laughs")
    assert any("entity declarations" in warning for warning in warnings), warnings
