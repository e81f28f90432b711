"""Poll sources and hand what they list for the first time to first sight, without waiting for it.

An article not captured at first sight may be gone by the next look, so a poll gives its new
URLs to :class:`~samizdat.watch.firstsight.FirstSight`, which captures each on its own at
once, and the poll is done: the next poll never waits for the captures of this one. Each
source is polled on its own interval (divided by ``watch.time_scale``) with conditional
requests; the polls of one host are spread so that they use at most ``watch.poll_share`` of
its request rate (:class:`PollPacer`). An archived article that leaves the middle of its
listing is made due at once (``sources/listing.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from samizdat.config import Settings
from samizdat.fetch import Fetcher, Priority
from samizdat.platforms.registry import Registry
from samizdat.sources import SourceKind, poll
from samizdat.sources.listing import dropped_entries, remembered
from samizdat.sources.listings import lister_for
from samizdat.store import Store
from samizdat.watch.capture import CaptureOutcome
from samizdat.watch.firstsight import FirstSight, Sighting


@dataclass(frozen=True)
class SourceReport:
    source_id: int
    url: str
    listed: int
    new: int  # URLs not archived yet, whose capture it started (not those another poll is capturing)
    not_modified: bool = False
    error: str | None = None
    dropped: int = 0  # archived articles that left the listing's middle, made due for a check


def due_sources(rows: list[dict[str, Any]], now: datetime, time_scale: float) -> list[dict[str, Any]]:
    """The sources whose interval has passed since their last poll (never polled: due), most
    overdue first."""
    due = [
        row
        for row in rows
        if row["last_polled_at"] is None
        or row["last_polled_at"] + timedelta(seconds=(row["poll_interval_seconds"] or 900) / time_scale)
        <= now
    ]
    return sorted(due, key=lambda row: row["last_polled_at"] or datetime.min.replace(tzinfo=UTC))


class PollPacer:
    """Spreads the polls of each host so that they take ``share`` of its request rate before
    anything but first-sight captures: a host with more sources than that share can poll at
    their interval has them polled in turn, and its checks keep the rest. Polls beyond the
    share go too, a few at a time, as ``Priority.SPARE``: they use what the checks leave."""

    SPARE_IN_FLIGHT = 2  # per host

    def __init__(self, rate: float, share: float) -> None:
        self.rate, self.share = rate, share
        self.gap = 1 / (rate * share) if rate > 0 else 0.0
        self._next: dict[str, float] = {}
        self._spare: dict[str, int] = {}

    def split(self, pollers: int) -> None:
        """``pollers`` processes poll the same hosts (``samizdat worker``): each keeps its part."""
        self.gap = pollers / (self.rate * self.share) if self.rate > 0 else 0.0

    def take(self, url: str, now: float) -> Priority | None:
        """The class a poll of ``url`` may start with at ``now`` (monotonic seconds), or None:
        not now. Call :meth:`done` when a ``SPARE`` poll ends."""
        host = urlsplit(url).hostname or ""
        if self._next.get(host, 0.0) <= now:
            self._next[host] = max(now, self._next.get(host, 0.0)) + self.gap
            return Priority.POLL
        if self._spare.get(host, 0) < self.SPARE_IN_FLIGHT:
            self._spare[host] = self._spare.get(host, 0) + 1
            return Priority.SPARE
        return None

    def done(self, url: str, priority: Priority) -> None:
        if priority is Priority.SPARE:
            host = urlsplit(url).hostname or ""
            self._spare[host] -= 1

    def next_start(self) -> float:
        """The earliest moment some host may be polled within its share again."""
        return min(self._next.values(), default=0.0)


async def poll_source(
    pipe, row: dict[str, Any], first_sight: FirstSight, priority: Priority = Priority.POLL
) -> SourceReport:
    """Poll one source; hand its URLs not archived yet to ``first_sight`` and return at once."""
    polled = await poll(
        pipe.fetcher,
        row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        kind=SourceKind(row["kind"]) if row["kind"] != str(SourceKind.OPML) else None,
        priority=priority,
        platforms=pipe.registry,
        watch=pipe.settings.watch,
    )
    if polled.error:
        # Due again at once (it was not polled); the next poll of this host tries it first.
        await pipe.pools.store.run(pipe.store.release_source, row["id"])
        return SourceReport(row["id"], row["url"], 0, 0, error=polled.error)
    entries = {}
    for entry in polled.entries:
        entries.setdefault(entry.url, entry)
    previous = await pipe.pools.store.run(pipe.store.source_listing, row["id"])
    # Unchanged (304): it still lists what it listed, and what of that is not archived is tried again.
    # A list whose later page failed lists only part of itself: nothing left it.
    partial = polled.document is not None and polled.document.partial
    listed = previous if polled.not_modified else list(entries)
    now = datetime.now(UTC)
    dropped = 0
    if not polled.not_modified and not partial and (gone := dropped_entries(previous, listed)):
        dropped = await pipe.pools.store.run(pipe.store.check_urls_soon, gone, now)
    # Every listed URL is looked up, not only those new to the listing: one whose capture failed,
    # is still running or was cut short by a crash is not archived yet, and is captured now.
    known = await pipe.pools.store.run(pipe.store.known_urls, listed)
    fresh = [url for url in listed if url not in known]
    listing = None if polled.not_modified or partial else remembered(previous, listed)
    await pipe.pools.store.run(
        pipe.store.source_polled,
        row["id"],
        at=now,
        etag=polled.etag,
        last_modified=polled.last_modified,
        title=polled.document.title if polled.document else None,
        listing=listing,
    )
    keywords = tuple(row.get("keywords") or ())
    title = (polled.document.title if polled.document else None) or row.get("title")
    sightings = [Sighting(url, row["id"], keywords, entries.get(url), title) for url in fresh]
    started = first_sight.start(sightings)
    return SourceReport(row["id"], row["url"], len(listed), started, polled.not_modified, None, dropped)


async def poll_sources(pipe, rows: list[dict[str, Any]]) -> tuple[list[SourceReport], list[CaptureOutcome]]:
    """Poll ``rows`` at once and wait for the first-sight captures they start (``samizdat source
    poll``, tests): the reports in the order of ``rows``, then the captures as they ended."""
    captures: list[CaptureOutcome] = []
    first_sight = FirstSight(pipe, lambda _, outcome: captures.append(outcome))
    reports = await asyncio.gather(*(poll_source(pipe, row, first_sight) for row in rows))
    await first_sight.wait()
    return list(reports), captures


@dataclass(frozen=True)
class AddedSource:
    source_id: int
    created: bool
    kind: str
    url: str
    listed: int  # entries the source lists now


class SourceRefused(ValueError):
    """The URL could not be fetched, or is not a feed, sitemap, URL list or OPML file."""


async def add_source(
    settings: Settings, store: Store, url: str, *, interval_seconds: int, keywords: Sequence[str] = ()
) -> list[AddedSource]:
    """Fetch ``url``, recognise its kind, and watch it (an OPML file: each feed it lists; a
    platform's list of articles, such as a WeChat album, by its one address)."""
    platforms = Registry(settings.platforms)
    listing = lister_for(platforms, url)
    kind = SourceKind.LISTING if listing else None
    url = listing[1] if listing else url
    async with Fetcher(settings.fetch) as fetcher:
        polled = await poll(fetcher, url, kind=kind, platforms=platforms)
    document = polled.document
    if document is None:
        raise SourceRefused(f"cannot add {url}: {polled.error}")
    feeds = list(document.children) if document.kind is SourceKind.OPML else []
    targets = [(str(SourceKind.FEED), feed, None) for feed in feeds] or [
        (str(document.kind), url, document.title)
    ]
    added = []
    for kind, target, title in targets:
        source_id, created = store.add_source(
            kind, target, title=title, interval_seconds=interval_seconds, keywords=keywords
        )
        added.append(AddedSource(source_id, created, kind, target, len(document.entries)))
    return added
