"""Discover stage: feeds, sitemaps, OPML lists and URL lists, read into URLs to capture."""

from samizdat.sources.documents import (
    DiscoveredURL,
    NotASource,
    SourceDocument,
    SourceKind,
    read_source,
    recognise,
)
from samizdat.sources.poll import Poll, poll

__all__ = [
    "DiscoveredURL",
    "NotASource",
    "Poll",
    "SourceDocument",
    "SourceKind",
    "poll",
    "read_source",
    "recognise",
]
