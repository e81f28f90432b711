"""A page's fingerprint: its digest once the values that change on every request are taken out.

A re-check compares this with the fingerprint of the page that last parsed as the article:
equal means the same page, so the check needs no parse and stores nothing new. Servers put
fresh tokens into every response (CSP nonces, request ids, server times, session tickets);
each platform names its own, like a replay system's per-site fuzzy-match rules. A token
is removed wherever its name is followed by ``=`` or ``:`` and a value: a script variable
(``req_id = '0717…'``), an object member (``uin: "0"``), a URL parameter
(``&pass_ticket=…``) or an attribute (``nonce="599881638"``). A token not named only costs
speed: the fingerprints differ and the check parses the page as a capture would.

It works on the bytes as received (token names are ASCII, so any ASCII-compatible encoding
will do) and finds names with ``bytes.find``, not with one regular expression over the page:
on a 150 kB page that is a few hundredths of a millisecond against several milliseconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# Per-request values common to many sites. Each name costs one scan of the page.
COMMON_TOKENS = ("nonce",)

_VALUE = re.compile(rb"""\s*[=:]\s*(?:"[^"\n]*"|'[^'\n]*'|[^&"'\s<>;,)}\]]*)""")


def page_fingerprint(page: bytes, tokens: Iterable[str] = ()) -> str:
    """SHA-256 (hex) of ``page`` without the values of ``tokens`` and of :data:`COMMON_TOKENS`.

    >>> a = page_fingerprint(b"<script nonce='1'>req_id = 'x1'</script><p>text</p>", ["req_id"])
    >>> a == page_fingerprint(b"<script nonce='2'>req_id = 'y2'</script><p>text</p>", ["req_id"])
    True
    >>> a == page_fingerprint(b"<script nonce='2'>req_id = 'y2'</script><p>text!</p>", ["req_id"])
    False
    """
    spans: list[tuple[int, int]] = []
    for name in (*COMMON_TOKENS, *tokens):
        needle = name.encode("ascii")
        start = page.find(needle)
        while start != -1:
            end = start + len(needle)
            value = _VALUE.match(page, end)
            if value is not None and value.end() > end:
                spans.append((end, value.end()))
            start = page.find(needle, end)
    digest = hashlib.sha256()
    view = memoryview(page)
    position = 0
    for start, end in sorted(spans):
        if start > position:
            digest.update(view[position:start])
        position = max(position, end)
    digest.update(view[position:])
    return digest.hexdigest()
