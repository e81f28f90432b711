"""Poll the sources that are due and capture what they list for the first time, at once.

An article not captured at first sight may be gone by the next look, so new entries are
captured in the same step as the poll that found them. Each source is polled on its own
interval (divided by ``watch.time_scale``) with conditional requests. An archived article
that leaves the middle of its listing is made due at once (``sources/listing.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from samizdat.config import Settings
from samizdat.fetch import Fetcher
from samizdat.sources import SourceKind, poll
from samizdat.sources.listing import dropped_entries, remembered
from samizdat.store import Store
from samizdat.watch.capture import CaptureOutcome


@dataclass(frozen=True)
class SourceReport:
    source_id: int
    url: str
    listed: int
    new: int
    not_modified: bool = False
    error: str | None = None
    captures: tuple[CaptureOutcome, ...] = ()
    dropped: int = 0  # archived articles that left the listing's middle, made due for a check


def due_sources(rows: list[dict[str, Any]], now: datetime, time_scale: float) -> list[dict[str, Any]]:
    """The sources whose interval has passed since their last poll (never polled: due)."""
    return [
        row
        for row in rows
        if row["last_polled_at"] is None
        or row["last_polled_at"] + timedelta(seconds=(row["poll_interval_seconds"] or 900) / time_scale)
        <= now
    ]


async def poll_sources(pipe, rows: list[dict[str, Any]]) -> list[SourceReport]:
    """Poll ``rows`` through the pipeline's fetcher; capture every URL not archived yet."""
    polls = await asyncio.gather(
        *(
            poll(
                pipe.fetcher,
                row["url"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                kind=SourceKind(row["kind"]) if row["kind"] != str(SourceKind.OPML) else None,
            )
            for row in rows
        )
    )
    reports = []
    claimed: set[str] = set()  # a URL listed by two sources is captured once
    for row, polled in zip(rows, polls, strict=True):
        if polled.error:
            reports.append(SourceReport(row["id"], row["url"], 0, 0, error=polled.error))
            continue
        listed = list(dict.fromkeys(entry.url for entry in polled.entries))
        previous = (
            [] if polled.not_modified else await asyncio.to_thread(pipe.store.source_listing, row["id"])
        )
        now = datetime.now(UTC)
        dropped = 0
        if not polled.not_modified and (gone := dropped_entries(previous, listed)):
            dropped = await asyncio.to_thread(pipe.store.check_urls_soon, gone, now)
        # What a poll listed is remembered less what could not be captured: what it holds is
        # not looked up again, and a URL whose capture failed is tried at the next poll.
        archived_before = set(previous)
        unseen = [url for url in listed if url not in archived_before]
        known = await asyncio.to_thread(pipe.store.known_urls, unseen)
        listing = None if polled.not_modified else remembered(previous, listed)
        await asyncio.to_thread(
            pipe.store.source_polled,
            row["id"],
            at=now,
            etag=polled.etag,
            last_modified=polled.last_modified,
            title=polled.document.title if polled.document else None,
            listing=listing,
        )
        fresh = [url for url in unseen if url not in known and url not in claimed]
        claimed.update(fresh)
        captures: tuple[CaptureOutcome, ...] = ()
        if fresh:
            keywords = row.get("keywords") or ()
            captures = tuple(
                await asyncio.gather(*(pipe.capturer.capture(url, keywords=keywords) for url in fresh))
            )
        failed = {c.url for c in captures if c.article_id is None}
        if listing and failed:
            kept = [url for url in listing if url not in failed]
            await asyncio.to_thread(pipe.store.source_listed, row["id"], kept)
        reports.append(
            SourceReport(
                row["id"], row["url"], len(listed), len(fresh), polled.not_modified, None, captures, dropped
            )
        )
    return reports


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
    """Fetch ``url``, recognise its kind, and watch it (an OPML file: each feed it lists)."""
    async with Fetcher(settings.fetch) as fetcher:
        polled = await poll(fetcher, url)
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
