"""Turn the bytes of an HTML page into text, the way a careful browser would.

Order of evidence: a byte-order mark, then the HTTP ``Content-Type`` charset, then a
``<meta charset>`` (or ``http-equiv``) near the top, then what the bytes decode as.
Declarations are checked against the bytes: Chinese pages are often mis-declared, and a
page declared ``gb2312`` routinely holds GBK or GB18030 characters.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer
from isal import isal_zlib

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 8192

# Every Chinese national charset is a subset of GB18030; decoding with the superset loses nothing.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
_SINGLE_BYTE_WESTERN = {"cp1252", "iso8859-15"}


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    evidence: str  # "bom", "http-header", "meta", "detected" or "fallback"


def normalize_encoding(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown.

    >>> normalize_encoding("GB2312")
    'gb18030'
    >>> normalize_encoding("utf8")
    'utf-8'
    >>> normalize_encoding("no-such-charset") is None
    True
    """
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def declared_in_markup(head: bytes) -> str | None:
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def decode_html(body: bytes, content_type: str | None = None) -> DecodedText:
    """Decode ``body``; never raises, and never silently drops a page's characters."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return DecodedText(body[len(bom) :].decode(encoding, "replace"), encoding, "bom")
    head = body[:_PRESCAN_BYTES]
    for evidence, label in (
        ("http-header", charset_from_content_type(content_type)),
        ("meta", declared_in_markup(head)),
    ):
        encoding = normalize_encoding(label)
        if encoding is None or encoding.startswith("utf-16") or encoding.startswith("utf-32"):
            continue
        if encoding in _SINGLE_BYTE_WESTERN and _is_utf8_with_non_ascii(body):
            return DecodedText(body.decode("utf-8"), "utf-8", "detected")
        try:
            return DecodedText(body.decode(encoding), encoding, evidence)
        except UnicodeDecodeError:
            continue  # mis-declared: let the bytes speak
    return _detect(body)


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])


def looks_like_text(body: bytes) -> bool:
    """False for bodies that are binary whatever their Content-Type says (NULs, control bytes).

    >>> looks_like_text("中文".encode("gbk")), looks_like_text(bytes(range(256)))
    (True, False)
    """
    sample = body[:4096]
    if not sample:
        return False
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return b"\x00" not in sample and controls <= len(sample) // 100


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> DecodedText:
    for encoding in ("utf-8", "gb18030"):
        try:
            return DecodedText(body.decode(encoding), encoding, "detected")
        except UnicodeDecodeError:
            pass
    # A few broken bytes (a truncated character, a stray byte) must not send a GBK or UTF-8
    # page to a statistical guess that turns all of it into mojibake.
    for encoding in ("utf-8", "gb18030"):
        text = body.decode(encoding, "replace")
        if text.count("\ufffd") <= max(2, len(text) // 500):
            return DecodedText(text, encoding, "detected")
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        encoding = normalize_encoding(best.encoding) or best.encoding
        return DecodedText(body.decode(encoding, "replace"), encoding, "detected")
    # Mostly-GBK pages with a few broken bytes are far commoner here than anything else.
    return DecodedText(body.decode("gb18030", "replace"), "gb18030", "fallback")


class ContentEncodingError(ValueError):
    """A body that cannot be decompressed; ``failure`` names the FetchFailure it is."""

    def __init__(self, failure: str, message: str) -> None:
        super().__init__(message)
        self.failure = failure


def decompress(body: bytes, encoding: str | None, cap: int) -> bytes:
    """Undo a Content-Encoding (gzip, deflate) without letting the result pass ``cap`` bytes."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ContentEncodingError("protocol", f"unsupported Content-Encoding {encoding!r}")
    max_wbits = isal_zlib.MAX_WBITS
    wbits_choices = (16 + max_wbits,) if "gzip" in encoding else (max_wbits, -max_wbits)
    for wbits in wbits_choices:
        decompressor = isal_zlib.decompressobj(wbits)
        try:
            content = decompressor.decompress(body, cap + 1)
        except (isal_zlib.error, isal_zlib.IsalError):
            continue
        if len(content) > cap:
            raise ContentEncodingError(
                "too_large", f"decompressed body passed the {cap:,}-byte cap (fetch.max_body_bytes)"
            )
        if not decompressor.eof:
            raise ContentEncodingError("truncated", f"the {encoding} body ends before its end marker")
        return content
    raise ContentEncodingError("protocol", f"the body is not valid {encoding} data")
