"""PDF text: pypdf (in the process) against poppler's pdftotext (a program per document).

Reports made like the tests' (tests/pdfs.py: headings, wrapped paragraphs, an outline) at 5,
50 and 200 pages; for each reader, the share of the report's words it gives back in order
(difflib over the words) and the time per page, the median of 5 readings. pdftotext needs
Debian's poppler-utils.

    .venv/bin/python bench/pdf.py
"""

from __future__ import annotations

import difflib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import pdfs

from watcher.extract.kinds import Reading
from watcher.extract.kinds.pdf import PdfKind
from watcher.loading import build_config

RUNS = 5


def report(pages: int) -> tuple[bytes, list[str]]:
    sections = [
        (f"{heading} ({n + 1})", paragraphs)
        for n in range(pages // len(pdfs.SECTIONS) + 1)
        for heading, paragraphs in pdfs.SECTIONS
    ][: pages - 1]
    words = "Viet Nam: Country Profile Demining Watch, country profiles".split()
    for heading, paragraphs in sections:
        words += heading.split() + " ".join(paragraphs).split()
    return pdfs.report(sections), words


def recall(expected: list[str], text: str) -> float:
    matcher = difflib.SequenceMatcher(None, expected, text.split(), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


def with_watcher(body: bytes) -> str:
    data = {
        "service": {"database": "sqlite:///x.db"},
        "countries": [{"code": "VN", "name": "V", "sources": [{"url": "https://x/r.pdf"}]}],
    }
    source = build_config(data, {}, None).sources[0]
    document, _ = PdfKind().read(Reading(body, "application/pdf", source))
    return " ".join(line.text for line in document.lines)  # type: ignore[union-attr]


def with_pdftotext(body: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(body)
        file.flush()
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", file.name, "-"], capture_output=True, check=True
        )
    return done.stdout.decode()


def main() -> None:
    readers = {"pypdf (watcher's pdf kind)": with_watcher}
    if shutil.which("pdftotext"):
        readers["pdftotext (poppler-utils)"] = with_pdftotext
    else:
        print("pdftotext not installed (apt-get install poppler-utils): pypdf only")
    print(f"{'reader':30} {'pages':>5} {'words back':>10} {'ms a page':>10}")
    for pages in (5, 50, 200):
        body, words = report(pages)
        for name, read in readers.items():
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                text = read(body)
                times.append(time.perf_counter() - started)
            share = recall(words, text)
            per_page = 1000 * statistics.median(times) / pages
            print(f"{name:30} {pages:5} {share:10.1%} {per_page:10.2f}")


if __name__ == "__main__":
    main()
