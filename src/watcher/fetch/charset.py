"""Bytes -> text: charset from the HTTP header, then the BOM, then a meta tag, then detection."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Browsers read these labels as windows-1252 (WHATWG Encoding Standard); so must we, or the
# curly quotes of a page served as "iso-8859-1" turn into control characters.
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "utf8": "utf-8",
}
# The plain utf-16/utf-32 codecs read the BOM to pick the byte order, and drop it.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_SNIFF_BYTES = 4096


class DecodeError(Exception):
    """The body is not text in the encoding it declares, or in any encoding we can detect."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    charset: str
    origin: str  # "header", "bom", "meta", "detected"


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    found = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
    return found.group(1) if found else None


def codec_name(label: str) -> str | None:
    """A Python codec for a charset label, or None when the label is unknown."""
    label = label.strip().lower()
    name = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_body(body: bytes, content_type: str | None) -> Decoded:
    declared = charset_from_content_type(content_type)
    if declared and (codec := codec_name(declared)):
        return _decode(body, _with_bom(body, codec), "header", "the Content-Type header")
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _decode(body, codec, "bom", "its byte order mark")
    head = body[:_SNIFF_BYTES]
    found = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if found and (codec := codec_name(found.group(1).decode("ascii"))):
        return _decode(body, codec, "meta", "its meta tag")
    return _detect(body)


def _with_bom(body: bytes, codec: str) -> str:
    return "utf-8-sig" if codec == "utf-8" and body.startswith(codecs.BOM_UTF8) else codec


def _decode(body: bytes, codec: str, origin: str, why: str) -> Decoded:
    try:
        return Decoded(body.decode(codec), codec, origin)
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"undecodable bytes: not valid {codec} as declared by {why}"
            f" (byte {exc.start}: {body[exc.start : exc.start + 4]!r})"
        ) from None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> Decoded:
    if _is_utf8(body):
        return Decoded(body.decode("utf-8"), "utf-8", "detected")
    if b"\x00" in body[:_SNIFF_BYTES]:
        raise DecodeError("undecodable bytes: the body looks binary, not text")
    from charset_normalizer import from_bytes  # only pages that declare nothing need it

    best = from_bytes(body).best()
    if best is None or best.encoding is None:
        raise DecodeError("undecodable bytes: no text encoding fits the body")
    return Decoded(str(best), best.encoding, "detected")
