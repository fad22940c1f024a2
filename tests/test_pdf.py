"""Reading a PDF as people read it (`extract/kinds/pdf.py`): headings only where a larger size
is used as headings are, the outline preferred when it matches the pages, a line's
superscripts kept on it, the text typed into form fields and notes read, and a refusal that
says what the file is. The PDFs are made by the tests with reportlab (tests/pdfs.py)."""

from __future__ import annotations

import pytest

from tests import pdfs
from tests.configs import source
from watcher.extract.document import PageDocument
from watcher.extract.errors import ExtractError
from watcher.extract.kinds.kind import Reading
from watcher.extract.kinds.pdf import PdfKind


def read(body: bytes) -> PageDocument:
    document, _ = PdfKind().read(Reading(body, "application/pdf", source()))
    assert isinstance(document, PageDocument)
    return document


def test_a_papers_headings_are_its_title_and_numbered_sections_not_its_drop_letter_or_labels() -> (
    None
):
    """Before: sections "T", "(a)", "(b)" at the top, the title a third-level heading and
    "1. Introduction" body text."""
    document = read(pdfs.paper())
    headings = [(line.kind, line.text) for line in document.lines if line.kind != "text"]
    assert headings == [
        ("h1", "Landmine Contamination in Border Provinces"),
        ("h2", "1. Introduction"),
        ("h2", "2. Method"),
    ]
    texts = [line.text for line in document.lines if line.kind == "text"]
    assert any(text.startswith("This paper reports the contamination") for text in texts), texts
    assert "(a) (b)" in texts  # the labels: text, where they stand
    assert "Figure 1: Hazardous areas in 2024 (a) and 2025 (b)." in texts
    method = [line for line in document.lines if line.section[-1:] == ("2. Method",)]
    assert [line.kind for line in method] == ["h2", "text"]
    assert method[1].section == ("Landmine Contamination in Border Provinces", "2. Method")


def test_an_outline_that_matches_the_pages_gives_the_sections_where_its_titles_stand() -> None:
    """Headings set in the body's size (bold is no size): the outline gives them, with its
    levels, where each title is printed, not at the top of its page."""
    document = read(pdfs.outlined())
    assert [(line.kind, line.section, line.text) for line in document.lines] == [
        ("text", (), "Demining Watch"),
        ("h1", ("Mine Ban Policy",), "Mine Ban Policy"),
        ("text", ("Mine Ban Policy",), "Viet Nam has not acceded to the Mine Ban Treaty."),
        ("h2", ("Mine Ban Policy", "Stockpiles"), "Stockpiles"),
        (
            "text",
            ("Mine Ban Policy", "Stockpiles"),
            "It reports a stockpile held for training only.",
        ),
        ("h1", ("Casualties",), "Casualties"),
        ("text", ("Casualties",), "In 2025, the Monitor recorded 48 casualties."),
    ]


def test_an_outline_that_does_not_match_the_pages_is_not_taken_over_the_sizes() -> None:
    document = read(pdfs.outlined(titles_printed=False))
    headings = [line for line in document.lines if line.is_heading]
    # No size sets a heading either: the loose outline, at the pages' starts, is all there is.
    assert [line.text for line in headings] == ["Part 1", "Part 2", "Part 3"]
    assert document.lines[0].text == "Part 1"
    assert any(line.text == "Mine Ban Policy" for line in document.lines)


def test_a_capital_on_its_own_at_the_bodys_size_is_no_drop_letter() -> None:
    texts = [line.text for line in read(pdfs.index_page()).lines]
    assert texts == ["A", "abandoned mines, 12", "accession, 3", "B", "bans, 7"]


def test_superscript_marks_stay_on_their_line() -> None:
    """Before: the author line came out as 13 lines, one per name, mark and comma."""
    document = read(pdfs.paper())
    texts = [line.text for line in document.lines]
    authors = [text for text in texts if "Ana Lima" in text]
    assert len(authors) == 1, texts
    assert authors[0] == "Ana Lima1, Bao Tran2, Chen Wei1,3"
    assert not any(text in {"1", "2", "1,3", ","} for text in texts), texts


def test_text_typed_into_form_fields_and_notes_is_read() -> None:
    """Before: the labels only, the values and the note never read."""
    document = read(pdfs.form())
    texts = [line.text for line in document.lines]
    assert "Country: Viet Nam" in texts, texts
    assert "Casualties in 2025: 48" in texts, texts
    assert "Reviewed: figures confirmed by the national centre." in texts, texts


def test_a_pdf_of_only_fields_is_read_not_refused() -> None:
    """The form's labels taken off its page: only what was typed into it is left, each value
    named by its field."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdfs.form())))
    for page in writer.pages:
        page.get_contents().set_data(b"")  # type: ignore[union-attr]
    out = io.BytesIO()
    writer.write(out)
    texts = [line.text for line in read(out.getvalue()).lines]
    assert "Country: Viet Nam" in texts


def test_a_page_whose_font_its_page_tree_gives_is_read() -> None:
    """Before: refused as "not a readable PDF: Key must be a PdfObject" (the inherited
    resources were set on the page under a plain string key), as crazyones.pdf and
    commented.pdf from pypdf's samples were (tests/faults/test_pdf_corpus.py)."""
    texts = [line.text for line in read(pdfs.inherited_resources()).lines]
    assert texts == ["The Monitor recorded 48 casualties in 2025."]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (pdfs.scanned, "the PDF is only images (2 pages of pictures, no text)"),
        (pdfs.image_only, "the PDF has no text: its 1 page holds no words"),
    ],
    ids=["scanned", "blank"],
)
def test_a_pdf_without_text_is_refused_saying_what_it_is(make: object, reason: str) -> None:
    with pytest.raises(ExtractError) as raised:
        PdfKind().read(Reading(make(), "application/pdf", source()))  # type: ignore[operator]
    assert reason in str(raised.value)
    assert "?" not in str(raised.value)  # not a guess
