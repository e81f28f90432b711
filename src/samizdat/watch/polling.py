"""Poll sources and hand what they list for the first time to first sight, without waiting for it.

An article not captured at first sight may be gone by the next look, so a poll gives its new
URLs to :class:`~samizdat.watch.firstsight.FirstSight`, which captures each on its own at
once, and the poll is done: the next poll never waits for the captures of this one. Each
source is polled when its own publishing says a poll is worth a check's turn, and from its
floor on with what the checks leave (:func:`poll_class`, ``watch/publishing.py``), with
conditional requests. An archived article that leaves its listing is made due at once
(``sources/listing.py``), and a listing known to leave removed articles out is a look at each
article it still lists (``watch/listing_looks.py``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from samizdat.config import Settings, WatchSettings
from samizdat.fetch import Fetcher, Priority
from samizdat.platforms.registry import Registry
from samizdat.sources import SourceKind, poll
from samizdat.sources.listing import dropped_entries, remembered
from samizdat.sources.listings import lister_for
from samizdat.store import Store
from samizdat.watch.capture import CaptureOutcome
from samizdat.watch.firstsight import FirstSight, Sighting
from samizdat.watch.listing_looks import look_through, still_left_out
from samizdat.watch.publishing import Publishing, next_poll


@dataclass(frozen=True)
class SourceReport:
    source_id: int
    url: str
    listed: int
    new: int  # URLs not archived yet, whose capture it started (not those another poll is capturing)
    not_modified: bool = False
    error: str | None = None
    dropped: int = 0  # archived articles that left the listing's middle, made due for a check
    next_poll_at: datetime | None = None  # when its next poll is due
    # What the poll wrote into the source's row (a watcher polling again before it reads the
    # sources again goes by these, not by what it read before).
    recorded: dict[str, Any] = field(default_factory=dict)


def floor_of(row: dict[str, Any], watch: WatchSettings) -> float:
    """A source's floor: it is never polled more often than this (schedule seconds): its own
    interval, else ``watch.poll_floor_seconds``."""
    return float(row["poll_interval_seconds"] or watch.poll_floor_seconds)


def poll_class(row: dict[str, Any], now: datetime, watch: WatchSettings) -> Priority | None:
    """How a source may be polled at ``now``: ahead of checks (``POLL``: never polled, or its
    publishing says a poll is worth it), in line with them (``ROUTINE``: its ceiling came with
    little expected), with what checks leave (``SPARE``: past its floor), or not yet (None)."""
    last = row["last_polled_at"]
    if last is None or row["next_poll_at"] is None:
        return Priority.POLL
    if row["next_poll_at"] <= now:
        return Priority.ROUTINE if Publishing.from_json(row["publishing"]).expects_little else Priority.POLL
    if last + timedelta(seconds=floor_of(row, watch) / watch.time_scale) <= now:
        return Priority.SPARE
    return None


def next_look(row: dict[str, Any], watch: WatchSettings) -> datetime | None:
    """When the source may next be polled at all (its floor), or None: now."""
    last = row["last_polled_at"]
    if last is None or row["next_poll_at"] is None:
        return None
    return min(row["next_poll_at"], last + timedelta(seconds=floor_of(row, watch) / watch.time_scale))


def failed_poll_retry(row: dict[str, Any], watch: WatchSettings) -> datetime:
    """A poll that failed is tried again at the source's floor, ahead of checks (its entries'
    first sight waits on it), and no sooner: a source that always fails must not take the host."""
    return datetime.now(UTC) + timedelta(seconds=floor_of(row, watch) / watch.time_scale)


class SparePolls:
    """Polls that go with what the checks leave wait at the bottom of their host's queue: a few
    at a time per host (a poll in the queue holds its source)."""

    IN_FLIGHT = 2  # per host

    def __init__(self) -> None:
        self._in_flight: Counter[str] = Counter()

    def take(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        if self._in_flight[host] >= self.IN_FLIGHT:
            return False
        self._in_flight[host] += 1
        return True

    def done(self, url: str) -> None:
        self._in_flight[urlsplit(url).hostname or ""] -= 1


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
        retry_at = failed_poll_retry(row, pipe.settings.watch)
        await pipe.pools.store.run(lambda: pipe.store.release_source(row["id"], retry_at=retry_at))
        return SourceReport(row["id"], row["url"], 0, 0, error=polled.error, next_poll_at=retry_at)
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
    gone = [] if polled.not_modified or partial else dropped_entries(previous, listed)
    if gone:
        made_due = await pipe.pools.store.run(pipe.store.check_urls_soon, gone, now)
        pipe.fetcher.promote(made_due, Priority.SIGNAL)  # their checks may be waiting as routine ones
        dropped = len(made_due)
    # Every listed URL is looked up, not only those new to the listing: one whose capture failed,
    # is still running or was cut short by a crash is not archived yet, and is captured now.
    view = await pipe.pools.store.run(
        lambda: pipe.store.listing_view(
            row["id"], listed, row.get("left_out") or [], others=row.get("drops_removed") is None
        )
    )
    fresh = [url for url in listed if url not in view.known]
    listing = None if polled.not_modified or partial else remembered(previous, listed)
    watch = pipe.settings.watch
    publishing, next_poll_at = next_poll(
        Publishing.from_json(row.get("publishing")),
        polled_at=now,
        new_entries=0 if polled.not_modified else len(set(listed) - set(previous)),
        floor_seconds=floor_of(row, watch),
        ceiling_seconds=watch.poll_ceiling_seconds,
        time_scale=watch.time_scale,
    )
    learnt, later_checks = look_through(row, view, now, pipe.checker.policy, watch) if listed else (None, [])
    if later_checks:
        await pipe.pools.store.run(pipe.store.put_off_checks, later_checks, now)
    recorded = {
        "last_polled_at": now,
        "etag": polled.etag,
        "last_modified": polled.last_modified,
        "next_poll_at": next_poll_at,
        "publishing": publishing.to_json(),
    }
    if learnt is not None:
        recorded["drops_removed"] = learnt
    recorded["left_out"] = still_left_out(row, gone, learnt)
    await pipe.pools.store.run(
        pipe.store.source_polled,
        row["id"],
        at=now,
        etag=polled.etag,
        last_modified=polled.last_modified,
        title=polled.document.title if polled.document else None,
        listing=listing,
        next_poll_at=next_poll_at,
        publishing=recorded["publishing"],
        left_out=recorded["left_out"],
        drops_removed=learnt,
    )
    keywords = tuple(row.get("keywords") or ())
    title = (polled.document.title if polled.document else None) or row.get("title")
    sightings = [Sighting(url, row["id"], keywords, entries.get(url), title) for url in fresh]
    started = first_sight.start(sightings)
    return SourceReport(
        row["id"],
        row["url"],
        len(listed),
        started,
        polled.not_modified,
        None,
        dropped,
        next_poll_at,
        recorded,
    )


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
    settings: Settings,
    store: Store,
    url: str,
    *,
    interval_seconds: int | None = None,
    keywords: Sequence[str] = (),
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
