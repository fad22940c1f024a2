"""Real PDFs nobody here wrote, through watcher's PDF reading: the sample files in pypdf's
source distribution (its `resources/` folder: forms, scans, CAD drawings, encrypted files,
broken cross-references, CJK fonts, outlines). No internal error, no hang, every refusal a
reason a person understands, and no false change: each file read twice, and read again
after pypdf has written it out anew (other bytes, the same pages), is the same document.

The files are not in this repository: the test setup downloads pypdf's source distribution
(`PYPDF_CORPUS`, pinned) from the package index into the test cache (tests/packages.py).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tests.configs import source
from tests.faults.deadline import Hung, alarms, within
from tests.packages import pypi_sdist
from watcher.diff import diff_pages
from watcher.extract import ExtractError, PageDocument
from watcher.extract.kinds.kind import Reading
from watcher.extract.kinds.pdf import PdfKind
from watcher.text import one_line

PYPDF_CORPUS = ("pypdf", "7.1.1")
# A hang guard for reading a file three times and writing it once, not a speed target
# (bench/pdf.py measures speed): the slowest file, 137 pages of 8 MB, reads in ~5 s here.
SECONDS_PER_FILE = 60
RESULTS = Path(__file__).parent / "last-run-pdf-corpus.json"
# What a refusal may say: each names what the file is, or what watcher lacks to read it.
REASONS = (
    "the PDF is encrypted with a password watcher does not have",
    "not a readable PDF: ",
    "the PDF is only images (",
    "the PDF has no text: ",
    "the PDF declares ",
    "the PDF has more than ",
    "the PDF needs what watcher cannot read: ",
)


def pdfs(archive: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if member.isfile() and member.name.lower().endswith(".pdf") and "resources" in parts:
                handle = tar.extractfile(member)
                assert handle is not None
                yield "/".join(parts[1:]), handle.read()


def read(body: bytes) -> PageDocument:
    document, _ = PdfKind().read(Reading(body, "application/pdf", source()))
    assert isinstance(document, PageDocument)
    document.finish()
    return document


def rewritten(body: bytes) -> bytes | None:
    """The file as pypdf writes it out anew (None where pypdf cannot)."""
    from pypdf import PdfReader, PdfWriter

    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(body)))
        out = io.BytesIO()
        writer.write(out)
    except Exception:  # pypdf's own limits on a broken file: no second copy to compare
        return None
    return out.getvalue()


def pypdf_reads(body: bytes) -> bool:
    """Whether pypdf's own plain reading finds words in the file: then refusing it as
    unreadable, or as holding no text, is watcher's fault."""
    from pypdf import PdfReader

    try:
        return any(page.extract_text().strip() for page in PdfReader(io.BytesIO(body)).pages)
    except Exception:  # pypdf cannot read it either
        return False


def test_pypdfs_sample_pdfs_are_read_or_refused_with_a_reason_and_never_change_alone() -> None:
    archive = pypi_sdist(*PYPDF_CORPUS)
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    hangs: list[str] = []
    unclear: list[str] = []
    false_changes: list[str] = []
    wrongly_refused: list[str] = []
    reasons: Counter[str] = Counter()
    with alarms():
        for name, body in pdfs(archive):
            try:
                with within(SECONDS_PER_FILE):
                    document = read(body)
                    again = read(body)
                    copy = rewritten(body)
                    other = read(copy) if copy is not None else None
            except ExtractError as exc:
                outcomes["refused"] += 1
                reasons[exc.reason.split(":")[0].split(" (")[0]] += 1
                if not exc.reason.startswith(REASONS) or exc.reason != one_line(exc.reason):
                    unclear.append(f"{name}: {exc.reason}")
                if "encrypted" not in exc.reason and pypdf_reads(body):
                    wrongly_refused.append(f"{name}: {exc.reason}")
                continue
            except Hung:
                hangs.append(name)
                continue
            except Exception as exc:
                crashes.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            outcomes["read"] += 1
            outcomes["lines"] += len(document.lines)
            outcomes["headings"] += sum(line.is_heading for line in document.lines)
            if document.content_hash() != again.content_hash():
                false_changes.append(f"{name}: read twice, two documents")
            if other is not None:
                outcomes["rewritten"] += 1
                change = diff_pages(document, other)
                if change is not None:
                    false_changes.append(f"{name}: written anew: {change.summary()}")
    RESULTS.write_text(
        json.dumps(
            {
                "corpus": "-".join(PYPDF_CORPUS),
                **outcomes,
                "crashes": crashes,
                "hangs": hangs,
                "false_changes": false_changes,
                "unclear": unclear,
                "wrongly_refused": wrongly_refused,
                "reasons": dict(reasons.most_common()),
            },
            indent=1,
        )
    )
    assert outcomes["read"] + outcomes["refused"] >= 60
    assert crashes == []
    assert hangs == []
    assert unclear == []
    assert wrongly_refused == []
    assert false_changes == []
