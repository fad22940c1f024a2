"""PDFs made for the tests with reportlab, shaped like a monitor's country report: a title,
sections with headings in a larger font and in the outline, paragraphs that wrap over
several lines, pages, a modification date; and the PDFs that must fail: encrypted, broken,
image-only, and a tiny file declaring millions of pages; and the hostile ones a reader must
not be stalled by: a page tree that names one page 30,000 times, a page tree that loops; and
the readable ones that need a library beside pypdf (AES encryption, Brotli streams)."""

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
    """A scanned page: shapes, no text."""
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
