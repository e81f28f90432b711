"""Pages with fresh per-request values, served gzip-compressed without compressing per request.

Real WeChat pages carry values that change on every response (a CSP nonce, a request id, the
server's clock), so no two fetches of an article are byte-identical; a simulator that served
identical bytes would flatter any client that compares digests. Compressing a 150 kB page on
every request would make the simulator, not the client, the bottleneck of a benchmark. So
the page is cut at its volatile values; each static piece is deflated once, ending on a
byte boundary with a full flush (no back-references cross it), and each response joins the
cached pieces with the fresh values as stored deflate blocks into one ordinary gzip member.
"""

from __future__ import annotations

import re
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Mapping

# The values set anew per response in the saved pages, and how to make a fresh one.
VOLATILE_VALUES: tuple[tuple[re.Pattern[str], Callable[[], str]], ...] = (
    (re.compile(r"""(?<=\bnonce=")\d+(?=")"""), lambda: str(secrets.randbelow(10**9))),
    (re.compile(r"""(?<=\breq_id = ')[^']*(?=')"""), lambda: secrets.token_urlsafe(18)[:24]),
    (re.compile(r"""(?<=\bsvr_time = ")\d+(?=")"""), lambda: str(int(time.time()))),
)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LAST_EMPTY_STORED_BLOCK = b"\x01\x00\x00\xff\xff"


def _deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _stored(data: bytes) -> bytes:
    """``data`` as stored (uncompressed) deflate blocks; the stream is byte-aligned here."""
    out = bytearray()
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start : start + 0xFFFF]
        out += b"\x00" + struct.pack("<HH", len(chunk), 0xFFFF ^ len(chunk)) + chunk
    return bytes(out)


class SplicedPage:
    """One page; :meth:`render` gives its bytes with fresh volatile values, plain or gzipped.

    ``slots`` are literal texts of the page to be filled in at render time (every occurrence,
    or the first only when its count is 1): one cached page then serves many distinct copies.
    """

    def __init__(self, html: str, slots: Mapping[str, int | None] | None = None) -> None:
        spans: list[tuple[int, int, Callable[[Mapping[str, str]], str]]] = [
            (match.start(), match.end(), lambda _values, fresh=fresh: fresh())
            for pattern, fresh in VOLATILE_VALUES
            for match in pattern.finditer(html)
        ]
        for text, count in (slots or {}).items():
            start = html.find(text)
            found = 0
            while start != -1 and (count is None or found < count):
                spans.append((start, start + len(text), lambda values, text=text: values.get(text, text)))
                found += 1
                start = html.find(text, start + len(text))
        spans.sort(key=lambda span: span[0])
        self._static: list[bytes] = []
        self._fillers: list[Callable[[Mapping[str, str]], str]] = []
        position = 0
        for start, end, filler in spans:
            if start < position:
                continue  # overlapping spans: the first one wins
            self._static.append(html[position:start].encode("utf-8"))
            self._fillers.append(filler)
            position = end
        self._static.append(html[position:].encode("utf-8"))
        self._deflated = [_deflated(piece) for piece in self._static]

    def render(self, gzipped: bool, values: Mapping[str, str] | None = None) -> bytes:
        """The page with fresh volatile values and ``values`` in its slots (default: as it was)."""
        filled = [filler(values or {}).encode("utf-8") for filler in self._fillers]
        if not gzipped:
            return b"".join(
                piece for pair in zip(self._static, [*filled, b""], strict=True) for piece in pair
            )
        crc, size = 0, 0
        parts = [_GZIP_HEADER]
        for static, deflated, value in zip(self._static, self._deflated, [*filled, b""], strict=True):
            crc = zlib.crc32(value, zlib.crc32(static, crc))
            size += len(static) + len(value)
            parts.append(deflated)
            if value:
                parts.append(_stored(value))
        parts.append(_LAST_EMPTY_STORED_BLOCK)
        parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(parts)
