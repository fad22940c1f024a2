"""PDFs made for the tests with reportlab, shaped like a monitor's country report: a title,
sections with headings in a larger font and in the outline, paragraphs that wrap over
several lines, pages, a modification date; a paper, a form and a report sectioned only by
its outline, as they are set in the wild; and the PDFs that must fail: encrypted, broken,
shapes or pictures only, and a tiny file declaring millions of pages; and the hostile ones a
reader must not be stalled by: a page tree that names one page 30,000 times, a page tree that
loops; and the readable ones that need a library beside pypdf (AES encryption, Brotli
streams)."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

SECTIONS = [
    (
        "Mine Ban Policy",
        [
            "Viet Nam has not acceded to the Mine Ban Treaty. It last voted in favour of the"
            " annual General Assembly resolution promoting the treaty in December 2025.",
            "Viet Nam reports that it has not used, produced or exported antipersonnel mines"
            " since the end of the conflict, and that its stockpile is held for training only.",
        ],
    ),
    (
        "Cluster Munition Ban Policy",
        [
            "Viet Nam has not joined the Convention on Cluster Munitions. It attended the"
            " intersessional meetings in Geneva as an observer.",
            "It has not made a statement on the convention since 2019.",
        ],
    ),
    (
        "Casualties",
        [
            "In 2025, the Monitor recorded 48 casualties of mines and explosive remnants of war"
            " in Viet Nam, down from 61 in 2024.",
            "Most casualties were civilians, and one in three was a child.",
        ],
    ),
    (
        "Support for Mine Action",
        [
            "International support for mine action in Viet Nam totalled US$18.2 million in"
            " 2025, most of it from Japan and the United States.",
        ],
    ),
]
MODIFIED = datetime(2026, 10, 14, 9, 30)


def report(
    sections: list[tuple[str, list[str]]] = SECTIONS,
    *,
    modified: datetime = MODIFIED,
    encrypt: str | None = None,
) -> bytes:
    """A report with one section a page after the title page, headings in the outline."""
    out = io.BytesIO()
    styles = getSampleStyleSheet()

    def stamp(canvas: object, _: object) -> None:
        canvas.setTitle("Viet Nam: Country Profile")  # type: ignore[attr-defined]

    document = SimpleDocTemplate(out, pagesize=A4, encrypt=encrypt, invariant=1)
    story: list[object] = [Paragraph("Viet Nam: Country Profile", styles["Title"])]
    story.append(Paragraph("Demining Watch, country profiles", styles["Normal"]))
    for index, (heading, paragraphs) in enumerate(sections):
        story.append(PageBreak())
        story.append(_Heading(heading, styles["Heading1"], index))
        for text in paragraphs:
            story.append(Paragraph(text, styles["BodyText"]))
            story.append(Spacer(1, 6))
    document.build(story, onFirstPage=stamp, onLaterPages=stamp)
    return _with_date(out.getvalue(), modified)


class _Heading(Paragraph):
    """A heading that also puts itself in the PDF's outline (bookmarks)."""

    def __init__(self, text: str, style: object, index: int) -> None:
        super().__init__(text, style)  # type: ignore[arg-type]
        self.key = f"section-{index}"
        self.title = text

    def draw(self) -> None:
        super().draw()
        self.canv.bookmarkPage(self.key)
        self.canv.addOutlineEntry(self.title, self.key, level=0)


def _with_date(pdf: bytes, modified: datetime) -> bytes:
    """reportlab's invariant mode writes a fixed date: put the wanted one in its place."""
    fixed = b"D:20000101000000+00'00'"
    wanted = modified.strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    assert len(fixed) == len(wanted)
    return pdf.replace(fixed, wanted)


def image_only() -> bytes:
    """A page of drawn shapes: no text and no picture."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.rect(100, 100, 300, 500, fill=1)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def bomb(pages: int = 10_000_000) -> bytes:
    """A few hundred bytes declaring `pages` pages in its page tree."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count " + str(pages).encode() + b" >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R 3 0 R 3 0 R 3 0 R] /Count "
            + str(pages).encode()
            + b" >>",
        ]
    )


TEXT = b"BT /F1 12 Tf 72 720 Td (The Monitor recorded 48 casualties in 2025.) Tj ET"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _text_page(tree: list[bytes], parent: int, stream: bytes, **pdf: bytes) -> bytes:
    """A PDF of the catalog, the page-tree nodes `tree` (objects 2...), and one page of text
    under node `parent`, with its content `stream` and its font."""
    page = len(tree) + 2
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", *tree]
    objects.append(
        f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 612 792] /Resources << /Font"
        f" << /F1 {page + 2} 0 R >> >> /Contents {page + 1} 0 R >>".encode()
    )
    return _pdf([*objects, stream, FONT], **pdf)


def _stream(data: bytes, filters: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), filters) + data + b"\nendstream"


def shared_pages(references: int = 30_000) -> bytes:
    """One page of text, named `references` times in a page tree that declares one page:
    a reader that walks the tree as written reads it 30,000 times."""
    kids = b" ".join([b"3 0 R"] * references)
    return _text_page([b"<< /Type /Pages /Kids [" + kids + b"] /Count 1 >>"], 2, _stream(TEXT))


def page_tree_loop() -> bytes:
    """A page tree whose inner node names the root again, beside one real page."""
    tree = [
        b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 4 0 R 3 0 R] /Count 2 >>",
    ]
    return _text_page(tree, 3, _stream(TEXT))


def brotli_compressed() -> bytes:
    """A page whose content stream is Brotli-compressed (/BrotliDecode, PDF 2.0)."""
    import brotli

    stream = _stream(brotli.compress(TEXT), b"/Filter /BrotliDecode ")
    tree = [b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    return _text_page(tree, 2, stream, version=b"2.0")


def aes_encrypted(algorithm: str = "AES-128") -> bytes:
    """The report, encrypted with AES and an empty user password (anyone may open it; only
    copying is "protected"): the common kind since PDF 1.6."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(report())))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf(objects: list[bytes], version: bytes = b"1.4") -> bytes:
    """A PDF of these objects, numbered from 1 in order, with a correct cross-reference."""
    out = io.BytesIO()
    out.write(b"%PDF-" + version + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode())
    out.write(f"startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def paper() -> bytes:
    """A paper set as papers are: a 17 pt title, an author line whose affiliation marks are
    superscripts, numbered 12 pt section headings, 10 pt body text opening with a 30 pt drop
    letter, and a figure whose panel labels "(a)" and "(b)" are set at 14 pt above a caption."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle("Landmine Contamination in Border Provinces")

    def line(x: float, y: float, parts: list[tuple[str, float, float]]) -> None:
        """Text runs on one line: (text, size, rise) each, one after another."""
        text = canvas.beginText(x, y)
        for words, size, rise in parts:
            text.setFont("Helvetica", size)
            text.setRise(rise)
            text.textOut(words)
        canvas.drawText(text)

    line(72, 780, [("Landmine Contamination in Border Provinces", 17, 0)])
    authors: list[tuple[str, float, float]] = []
    for name, mark in [("Ana Lima", "1"), ("Bao Tran", "2"), ("Chen Wei", "1,3")]:
        authors += [(f"{name}", 10, 0), (mark, 6, 4), (",  " if mark != "1,3" else "", 10, 0)]
    line(72, 755, authors)
    line(72, 742, [("1", 6, 4), ("University of Coimbra  ", 8, 0), ("2", 6, 4), ("Hue", 8, 0)])
    line(72, 712, [("1. Introduction", 12, 0)])
    line(72, 668, [("T", 30, 0)])
    body = [
        "his paper reports the contamination surveyed in 2025 along the border, province",
        "by province, with the casualties recorded by the national mine action centre.",
        "The survey covered 41 districts and found 112 confirmed hazardous areas.",
    ]
    for index, words in enumerate(body):
        line(96 if index < 2 else 72, 690 - 12 * index, [(words, 10, 0)])
    canvas.rect(72, 520, 200, 110)
    canvas.rect(300, 520, 200, 110)
    line(80, 612, [("(a)", 14, 0)])
    line(308, 612, [("(b)", 14, 0)])
    line(72, 500, [("Figure 1: Hazardous areas in 2024 (a) and 2025 (b).", 9, 0)])
    line(72, 470, [("2. Method", 12, 0)])
    line(72, 452, [("Each district was visited by two survey teams in the dry season.", 10, 0)])
    line(72, 440, [("Areas were confirmed by technical survey before they were counted.", 10, 0)])
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def form() -> bytes:
    """A country report filed as a form: the country and the casualty figure typed into text
    fields, and a reviewer's free-text note on the page; the page itself has only labels."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, 760, "Country:")
    canvas.acroForm.textfield(
        name="country", tooltip="Country", value="Viet Nam", x=160, y=752, width=200
    )
    canvas.drawString(72, 720, "Casualties in 2025:")
    canvas.acroForm.textfield(
        name="casualties", tooltip="Casualties in 2025", value="48", x=200, y=712, width=80
    )
    canvas.showPage()
    canvas.save()
    return _with_note(out.getvalue(), "Reviewed: figures confirmed by the national centre.")


def scanned() -> bytes:
    """Two pages that are pictures of pages: an image on each, no text at all."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    pixels = _grey_png(40, 60)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for _ in range(2):
        canvas.drawImage(ImageReader(io.BytesIO(pixels)), 72, 72, width=400, height=600)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _grey_png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes((x * 5) % 256 for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _with_note(pdf: bytes, note: str) -> bytes:
    """The PDF with a free-text annotation (a note typed onto page 1) added by pypdf."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_annotation(page_number=0, annotation=FreeText(text=note, rect=(72, 600, 400, 640)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def outlined(titles_printed: bool = True) -> bytes:
    """A report whose headings are set in the body's size, in bold, and whose outline gives
    them with their levels, each bookmarked where it stands on its page (two on page 1). With
    `titles_printed` false, the outline's titles are not what the page prints."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    entries = [
        (1, 0, "Mine Ban Policy", ["Viet Nam has not acceded to the Mine Ban Treaty."]),
        (1, 1, "Stockpiles", ["It reports a stockpile held for training only."]),
        (2, 0, "Casualties", ["In 2025, the Monitor recorded 48 casualties."]),
    ]
    y = 760.0
    page = 1
    for number, (on_page, level, title, paragraphs) in enumerate(entries):
        if on_page != page:
            canvas.showPage()
            page, y = on_page, 760.0
        canvas.setFont("Helvetica", 10)
        canvas.drawString(72, y, "Demining Watch" if number == 0 else "")
        y -= 40
        canvas.setFont("Helvetica-Bold", 10.5)
        canvas.drawString(72, y, title)
        canvas.bookmarkHorizontal(f"entry-{number}", 0, y + 12)
        shown = title if titles_printed else f"Part {number + 1}"
        canvas.addOutlineEntry(shown, f"entry-{number}", level=level)
        canvas.setFont("Helvetica", 10)
        for text in paragraphs:
            y -= 14
            canvas.drawString(72, y, text)
        y -= 20
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def inherited_resources() -> bytes:
    """One page of text whose font is given by its page-tree node, not by the page (as PDF
    allows, and as crazyones.pdf in pypdf's samples does)."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
            _stream(TEXT),
            FONT,
        ]
    )


def index_page() -> bytes:
    """A report's index: letters on their own lines at the body's size, entries in lower
    case under them (no drop letters: they are not set larger)."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    y = 760
    for letter, entries in (("A", ["abandoned mines, 12", "accession, 3"]), ("B", ["bans, 7"])):
        canvas.setFont("Helvetica", 10)
        canvas.drawString(72, y, letter)
        y -= 30
        for entry in entries:
            canvas.drawString(72, y, entry)
            y -= 30
    canvas.showPage()
    canvas.save()
    return out.getvalue()
