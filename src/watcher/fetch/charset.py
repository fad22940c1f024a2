"""Bytes -> text, as browsers do it (the WHATWG Encoding Standard): the byte order mark,
then the charset of the Content-Type header, then a meta tag, then detection.

Pages lie about their charset: a template that says `gb2312` or `iso-8859-1` around text
saved as UTF-8. When the declared encoding cannot decode the bytes and they are valid UTF-8,
they are read as UTF-8 and the disagreement is kept as a warning (shown with the source),
not a failed check.

A label is an encoding only if the Encoding Standard lists it (`webencodings` carries the
list): `rot13`, `hex` or `undefined` are Python codecs but no charset, and are ignored like
any unknown label, so a hostile header cannot make decoding do something else than decode.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import webencodings

from watcher.errors import CheckError

# The Encoding Standard's GBK decoder is its gb18030 decoder (Python's gbk codec refuses
# the four-byte sequences). The other names are Python's own (windows-1252 is cp1252).
_PYTHON_CODECS = {"gbk": "gb18030"}
# The byte order mark wins over every declaration; the plain utf-16 codec reads and drops it.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_SNIFF_BYTES = 4096


class DecodeError(CheckError):
    """The body is not text in the encoding it declares, or in any encoding we can detect."""

    step = "decoding"


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    charset: str
    origin: str  # "header", "bom", "meta", "detected"
    warning: str | None = None  # the declaration could not be followed


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    found = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
    return found.group(1) if found else None


def codec_name(label: str) -> str | None:
    """The Python codec for a charset label, or None when the Encoding Standard does not know
    the label (it is then ignored, as browsers ignore it)."""
    encoding = webencodings.lookup(label)
    if encoding is None:
        return None
    if encoding.name in ("replacement", "x-user-defined"):
        return encoding.name  # no Python codec: _decode says what they are
    return codecs.lookup(_PYTHON_CODECS.get(encoding.name, encoding.name)).name


def decode_body(body: bytes, content_type: str | None) -> Decoded:
    for bom, marked in _BOMS:
        if body.startswith(bom):
            return _decode(body, marked, "bom", "its byte order mark")
    declared = charset_from_content_type(content_type)
    if declared and (codec := codec_name(declared)):
        return _decode(body, codec, "header", "the Content-Type header")
    head = body[:_SNIFF_BYTES]
    found = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if found and (codec := codec_name(found.group(1).decode("ascii"))):
        if codec.startswith("utf-16"):  # a document that can say so in ASCII is not UTF-16
            codec = "utf-8"
        return _decode(body, codec, "meta", "its meta tag")
    return _detect(body)


def _decode(body: bytes, codec: str, origin: str, why: str) -> Decoded:
    if codec == "replacement":
        raise DecodeError(
            f"undecodable bytes: {why} declares an encoding that browsers refuse to decode"
            " (one of ISO-2022-KR, HZ-GB-2312 and the like)"
        )
    if codec == "x-user-defined":
        text = "".join(chr(b) if b < 0x80 else chr(0xF700 + b) for b in body)
        return Decoded(text, codec, origin)
    try:
        return Decoded(body.decode(codec), codec, origin)
    except UnicodeError as exc:
        start = getattr(exc, "start", 0)
        if codec != "utf-8" and _is_utf8(body):
            warning = (
                f"{why} declares {codec}, which cannot decode the body (byte {start}),"
                " but it is valid UTF-8: read as UTF-8"
            )
            return Decoded(body.decode("utf-8"), "utf-8", "detected", warning)
        raise DecodeError(
            f"undecodable bytes: not valid {codec} as declared by {why}"
            f" (byte {start}: {body[start : start + 4]!r})"
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
