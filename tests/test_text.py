"""Remote text: cleaned where it enters, escaped for the terminal and for XML."""

from __future__ import annotations

import lxml.etree

from watcher.text import clean, for_terminal, for_xml, one_line


def test_clean_keeps_text_tabs_and_newlines_and_drops_controls() -> None:
    assert clean("caf\u00e9\tok\nnext") == "caf\u00e9\tok\nnext"
    assert clean("a\x1b[2Jb\x07c\x9bd\x00e\u202ef\u2066g\ufffe") == "a[2Jbcdefg"
    assert one_line("  one\r\n two\x1b ") == "one two"
    assert (
        clean("\u05e9\u05dc\u05d5\u05dd \u200f") == "\u05e9\u05dc\u05d5\u05dd \u200f"
    )  # RTL marks stay


def test_the_terminal_sees_escapes_not_controls() -> None:
    assert for_terminal("red \x1b[31m bell \x07 csi \x9b rlo \u202e") == (
        "red \\x1b[31m bell \\x07 csi \\x9b rlo \\u202e"
    )
    assert for_terminal("two\nlines") == "two\nlines"


def test_xml_loses_only_what_it_cannot_carry() -> None:
    document = "<t>" + for_xml("a\x1bb\x07c\td\u202ee\ufffff") + "</t>"
    assert lxml.etree.fromstring(document.encode()).text == "ab" + "c\td\u202eef"
