"""Fetch stage: HTTP with politeness limits, size caps, charset decoding and SSRF safety."""

from samizdat.fetch.client import Exchange, Fetcher, FetchFailure, FetchResult
from samizdat.fetch.decode import DecodedText, decode_html
from samizdat.fetch.safety import UnsafeURL
from samizdat.fetch.turns import Priority

__all__ = [
    "DecodedText",
    "Exchange",
    "FetchFailure",
    "FetchResult",
    "Fetcher",
    "Priority",
    "UnsafeURL",
    "decode_html",
]
