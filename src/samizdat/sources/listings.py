"""A platform's own lists of articles (a WeChat album), read page by page into a source document.

The platform module says which URLs are such lists and reads each page
(:class:`~samizdat.platforms.base.Lister`); this module fetches the pages, through the same
fetcher as everything else, and bounds what a hostile or broken list can cost: at most
``MAX_PAGES`` pages and ``MAX_ITEMS`` items a poll, and a list whose paging does not advance
ends there. When the first page fails (an error code, malformed JSON), the list's other form
(the album's HTML) is read instead; a verification page is an error to try again later.
"""

from __future__ import annotations

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


async def read_listing(fetcher: Fetcher, platforms: Registry, url: str, priority: Priority) -> SourceDocument:
    """Every article the list at ``url`` holds (up to the bounds above), in its order."""
    found = lister_for(platforms, url)
    if found is None:
        raise NotASource(f"{url} is not a list of articles of a known platform (a WeChat album)")
    platform, listing = found
    page_url, fallback = platform.listing_pages(listing)
    entries: dict[str, DiscoveredURL] = {}
    asked: set[str] = set()
    title, note = None, None
    for _ in range(MAX_PAGES):
        asked.add(page_url)
        result = await fetcher.fetch(page_url, accept=LISTING_ACCEPT, priority=priority)
        try:
            if not result.ok:
                raise ListingRefused(f"{result.failure}: {result.error}")
            if result.status != 200:
                raise ListingRefused(f"HTTP {result.status}")
            page = platform.read_listing_page(result.final_url, result.content)
        except ListingRefused as exc:
            if not entries and fallback and fallback not in asked:
                page_url, fallback = fallback, None
                continue
            raise NotASource(f"{page_url}: {exc}") from None
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
    return SourceDocument(SourceKind.LISTING, title, tuple(entries.values())[:MAX_ITEMS], note=note)
