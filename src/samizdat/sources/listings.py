"""A platform's own lists of articles (a WeChat album), read page by page into a source document.

The platform module says which URLs are such lists and reads each page
(:class:`~samizdat.platforms.base.Lister`); this module fetches the pages, through the same
fetcher as everything else, and bounds what a hostile or broken list can cost: at most
``MAX_PAGES`` pages and ``MAX_ITEMS`` items a poll, and a list whose paging does not advance
ends there. When the first page fails (an error code, malformed JSON), the list's other form
(the album's HTML) is read instead; a verification page is an error to try again later.
"""

from __future__ import annotations

import asyncio

from samizdat.config import WatchSettings
from samizdat.fetch import Fetcher, Priority
from samizdat.platforms.base import ListingRefused
from samizdat.platforms.registry import Registry
from samizdat.sources.documents import DiscoveredURL, NotASource, SourceDocument, SourceKind

MAX_PAGES = 100
MAX_ITEMS = 2000
LISTING_ACCEPT = "application/json, text/html;q=0.9, */*;q=0.5"


def lister_for(platforms: Registry, url: str):
    """The platform that reads ``url`` as a list of its articles, and the list's one address;
    None when ``url`` is no such list."""
    platform = platforms.for_url(url)
    listing = getattr(platform, "listing", None)
    address = listing(url) if listing is not None else None
    return (platform, address) if address else None


async def read_listing(
    fetcher: Fetcher,
    platforms: Registry,
    url: str,
    priority: Priority,
    *,
    watch: WatchSettings | None = None,
) -> SourceDocument:
    """Every article the list at ``url`` holds (up to the bounds above), in its order.

    A page that fails for a while (a 503, a verification page, a body cut off) is asked again
    as a first-sight capture is (``watch.capture_retries`` times, ``watch.retry_seconds`` apart
    in schedule time, doubling; not at all without ``watch``);
    should a later page still fail, what the earlier ones listed is returned as ``partial``.
    """
    found = lister_for(platforms, url)
    if found is None:
        raise NotASource(f"{url} is not a list of articles of a known platform (a WeChat album)")
    platform, listing = found
    page_url, fallback = platform.listing_pages(listing)
    entries: dict[str, DiscoveredURL] = {}
    asked: set[str] = set()
    title, note, partial = None, None, False
    for _ in range(MAX_PAGES):
        asked.add(page_url)
        try:
            page = await _page(fetcher, platform, page_url, priority, watch)
        except ListingRefused as exc:
            if not entries and fallback and fallback not in asked:
                page_url, fallback = fallback, None
                continue
            if not entries:
                raise NotASource(f"{page_url}: {exc}") from None
            note, partial = f"a page failed ({exc}): read up to it", True
            break
        title = title or page.title
        for item in page.items:
            entries.setdefault(item.url, DiscoveredURL(item.url, item.title, item.published_at))
        if len(entries) > MAX_ITEMS or (len(entries) == MAX_ITEMS and page.next_url):
            note = f"read its first {MAX_ITEMS} items only"
            break
        if page.next_url is None:
            break
        if page.next_url in asked:
            note = "its paging went back to a page already read: read up to there"
            break
        page_url = page.next_url
    else:
        note = f"read its first {MAX_PAGES} pages only"
    return SourceDocument(
        SourceKind.LISTING, title, tuple(entries.values())[:MAX_ITEMS], note=note, partial=partial
    )


async def _page(fetcher: Fetcher, platform, url: str, priority: Priority, watch: WatchSettings | None):
    retries = watch.capture_retries if watch is not None else 0
    for attempt in range(retries + 1):
        result = await fetcher.fetch(url, accept=LISTING_ACCEPT, priority=priority)
        try:
            if not result.ok:
                raise ListingRefused(f"{result.failure}: {result.error}", transient=True)
            if result.status != 200:
                raise ListingRefused(
                    f"HTTP {result.status}", transient=result.status >= 500 or result.status == 429
                )
            return platform.read_listing_page(result.final_url, result.content)
        except ListingRefused as exc:
            if not exc.transient or attempt == retries:
                raise
        await asyncio.sleep(watch.retry_seconds * 2**attempt / watch.time_scale)
    raise AssertionError("unreachable")
