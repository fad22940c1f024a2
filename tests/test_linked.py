"""The documents a page links to, followed (`documents = ...`): found in the watched part
(`extract/linked.py`), each a line of kind "document" where its link stands, and a new or
removed one named by the change ("New document: ...", `diff/change.py`)."""

from __future__ import annotations

from tests.configs import source
from watcher.diff import diff_pages
from watcher.diff.significance import significance
from watcher.diff.summary import tell
from watcher.extract.page import extract_page

BASE = "https://monitor.example/profiles/vietnam.html"


def profile(reports: list[tuple[str, str]], extra: str = "") -> str:
    items = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in reports)
    return f"""<html><body><div id="content">
      <h2>Mine Ban Policy</h2><p>Viet Nam has not acceded to the treaty.</p>
      <h2>Reports</h2><ul>{items}</ul>
      <p>The casualty figures are in the <a href="/files/annex.pdf">statistical annex</a>
      of each report.</p>
      <p><a href="/profiles/laos.html">Lao PDR</a> <a href="javascript:alert(1)">x.pdf</a>
      <a href="mailto:a@b.pdf">mail</a></p>{extra}
    </div></body></html>"""


REPORTS = [("/files/vn-2011.pdf", "Country report 2011 (PDF)")]


def test_a_pages_linked_pdfs_are_lines_of_their_own_where_the_links_stand() -> None:
    page = extract_page(profile(REPORTS), source(url=BASE, select="#content", documents=True))
    assert page.documents == (
        ("https://monitor.example/files/vn-2011.pdf", "Country report 2011 (PDF)"),
        ("https://monitor.example/files/annex.pdf", "statistical annex"),
    )
    lines = [(line.section, line.kind, line.text) for line in page.lines]
    assert (("Reports",), "document", "Country report 2011 (PDF)") in lines
    annex = lines.index((("Reports",), "document", "statistical annex"))
    assert lines[annex - 1][2].startswith("The casualty figures are in the statistical annex")
    assert not any(kind == "document" and "Lao" in text for _, kind, text in lines)


def test_without_documents_a_page_reads_as_before() -> None:
    page = extract_page(profile(REPORTS), source(url=BASE, select="#content"))
    assert page.documents == ()
    assert "documents" not in page.to_json()
    assert not any(line.kind == "document" for line in page.lines)


def test_a_pattern_picks_the_links_followed_and_equal_labels_are_told_apart() -> None:
    reports = [("/reports/2011/full.pdf", "PDF"), ("/reports/2012/full.pdf", "PDF")]
    page = extract_page(
        profile(reports), source(url=BASE, select="#content", documents=r"/reports/")
    )
    assert [label for _, label in page.documents] == [
        "PDF (reports/2011/full.pdf)",
        "PDF (reports/2012/full.pdf)",
    ]
    assert len(page.documents) == 2


def test_a_new_linked_document_is_named_by_the_change_once() -> None:
    settings = source(url=BASE, select="#content", documents=True)
    old = extract_page(profile(REPORTS), settings)
    new = extract_page(
        profile([("/files/vn-2012.pdf", "Country report 2012 (PDF)"), *REPORTS]), settings
    )
    change = diff_pages(old, new)
    assert change is not None
    assert [(d.status, d.label, d.url) for d in change.documents] == [
        ("new", "Country report 2012 (PDF)", "https://monitor.example/files/vn-2012.pdf")
    ]
    assert change.summary() == "New document: Country report 2012 (PDF)"
    assert tell(change).lines == 1  # the summary accounts for the one line the change shows
    scored = significance(change)
    assert scored.score >= 0.6  # notable: a reader of notable changes only is told
    assert "new document: Country report 2012 (PDF)" in scored.reasons

    gone = diff_pages(new, old)
    assert gone is not None
    assert gone.summary() == "Document removed: Country report 2012 (PDF)"


def test_a_document_moved_to_another_address_is_a_change_though_no_line_is() -> None:
    settings = source(url=BASE, select="#content", documents=True)
    old = extract_page(profile(REPORTS), settings)
    new = extract_page(profile([("/files/vn-2011-v2.pdf", REPORTS[0][1])]), settings)
    assert old.content_hash() != new.content_hash()
    change = diff_pages(old, new)
    assert change is not None
    assert [(d.status, d.url.rsplit("/", 1)[1]) for d in change.documents] == [
        ("new", "vn-2011-v2.pdf"),
        ("removed", "vn-2011.pdf"),
    ]
    assert change.hunks == ()


def test_links_resolve_where_the_page_was_served_and_against_its_base() -> None:
    """A relative link is the page's as the browser reads it: against the address the page
    was served from (after redirects), and its `<base href>` when it has one."""
    from watcher.extract.kinds import Reading
    from watcher.extract.kinds.page import PageKind

    settings = source(url="https://monitor.example/vn", select="#content", documents=True)
    body = profile([("vn-2011.pdf", "Country report 2011 (PDF)")]).encode()
    served = "https://monitor.example/profiles/vietnam/"  # where /vn redirected to
    page, _ = PageKind().read(Reading(body, "text/html", settings, url=served))
    assert page.documents[0][0] == "https://monitor.example/profiles/vietnam/vn-2011.pdf"  # type: ignore[union-attr]

    based = body.replace(b"<body>", b'<head><base href="https://files.example/r/"></head><body>')
    page, _ = PageKind().read(Reading(based, "text/html", settings, url=served))
    assert page.documents[0][0] == "https://files.example/r/vn-2011.pdf"  # type: ignore[union-attr]
