"""Fetch a source politely (conditional requests) and read what it lists.

A platform's own list of articles (a WeChat album) is read page by page (sources/listings.py).

A sitemap index is followed one level down; an OPML file lists feeds, which become sources
of their own. Every fetch goes through the same :class:`~samizdat.fetch.Fetcher` as captures,
with its safety checks and politeness limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from samizdat.config import WatchSettings
from samizdat.fetch import Fetcher, Priority
from samizdat.platforms.registry import Registry
from samizdat.sources.documents import DiscoveredURL, NotASource, SourceDocument, SourceKind, read_source
from samizdat.sources.listings import read_listing

MAX_CHILD_SITEMAPS = 50
SOURCE_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
)


@dataclass(frozen=True)
class Poll:
    url: str
    document: SourceDocument | None  # None when unchanged (304) or failed
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None

    @property
    def entries(self) -> tuple[DiscoveredURL, ...]:
        return self.document.entries if self.document else ()


async def poll(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    kind: SourceKind | None = None,
    priority: Priority = Priority.POLL,
    platforms: Registry | None = None,
    watch: WatchSettings | None = None,
) -> Poll:
    """Read the source at ``url``; a list of pages (a WeChat album) asks a failing page again
    as ``watch`` says a first sight does, in schedule time (sources/listings.py)."""
    if kind is SourceKind.LISTING:
        if platforms is None:
            return Poll(url, None, error="a platform's list of articles needs the platforms to read it")
        try:
            document = await read_listing(fetcher, platforms, url, priority, watch=watch)
            return Poll(url, document)
        except NotASource as exc:
            return Poll(url, None, error=str(exc))
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    result = await fetcher.fetch(url, headers=headers, accept=SOURCE_ACCEPT, priority=priority)
    if not result.ok:
        return Poll(
            url, None, etag=etag, last_modified=last_modified, error=f"{result.failure}: {result.error}"
        )
    final = result.exchanges[-1]
    if result.status == 304:
        return Poll(url, None, not_modified=True, etag=etag, last_modified=last_modified)
    if result.status != 200:
        return Poll(url, None, etag=etag, last_modified=last_modified, error=f"HTTP {result.status}")
    try:
        document = read_source(result.content, result.final_url, kind)
    except NotASource as exc:
        return Poll(url, None, error=str(exc))
    if document.kind is SourceKind.SITEMAP and document.children:
        document = await _with_child_sitemaps(fetcher, document, priority)
    return Poll(url, document, etag=final.header("etag"), last_modified=final.header("last-modified"))


async def _with_child_sitemaps(fetcher: Fetcher, index: SourceDocument, priority: Priority) -> SourceDocument:
    entries = list(index.entries)
    for child in index.children[:MAX_CHILD_SITEMAPS]:
        result = await fetcher.fetch(child, accept=SOURCE_ACCEPT, priority=priority)
        if result.ok and result.status == 200:
            try:
                entries += read_source(result.content, result.final_url, SourceKind.SITEMAP).entries
            except NotASource:
                continue  # one broken child sitemap must not hide the others
    return SourceDocument(SourceKind.SITEMAP, index.title, tuple(entries), index.children)
