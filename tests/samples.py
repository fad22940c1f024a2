"""Sample documents the tests read: the example site's pages, the extraction corpus."""

from __future__ import annotations

from pathlib import Path

from watcher.demo.site import site_root
from watcher.fetch import decode_body

CORPUS = Path(__file__).parent / "corpus"
VIETNAM = (site_root() / "r1" / "cp" / "vietnam.html").read_bytes()


def page(root: Path, revision: str, name: str) -> str:
    raw = (root / revision / "cp" / name).read_bytes()
    return decode_body(raw, "text/html").text
