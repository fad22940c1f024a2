"""Remote text made safe: cleaned once where it enters, escaped for each output.

A page, a feed or a server's error message can hold control characters (ESC sequences that
repaint an operator's terminal, BEL, NUL, C1 controls) and bidirectional overrides (U+202E
makes "gpj.exe" read "exe.jpg"). Extraction and failure reasons pass every remote string
through `clean` or `one_line`; outputs escape what they must for their medium (`for_terminal`
here, `for_xml` for Atom; HTML and email headers escape in their own layers), so text stored
before this cleaning existed is harmless too.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings, overrides and isolates,
# noncharacters and lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]"
)
# What XML 1.0 cannot carry at all (tab, newline and carriage return it can).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean(text: str) -> str:
    """The text without control characters (tab and newline kept) or bidi overrides."""
    if text.isprintable():  # the common case, and cheap: nothing to look for
        return text
    return _UNSAFE.sub("", text)


def one_line(text: str) -> str:
    """Cleaned, with every run of white space (newlines too) made one space."""
    return " ".join(clean(text).split())


def for_terminal(text: str) -> str:
    """Anything a terminal would obey shown as an escape instead (`\\x1b`), newlines kept."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(lambda found: repr(found.group())[1:-1], text)


def for_xml(text: str) -> str:
    """Without the characters XML 1.0 forbids, which would make the whole document invalid."""
    return _NOT_XML.sub("", text)
