"""First sight: every new URL a source lists is captured at once, on its own, and retried at once.

An article not captured at first sight may be gone by the next look. A poll hands its new
URLs here and goes on: each capture is a task of its own (one slow or failing capture never
holds up another, nor the next poll), its requests at the head of their host's queue
(``Priority.CAPTURE``). A capture that meets a transient failure — a network error, a body
cut off, 5xx, 429, 401/403, a verification page, an empty body — is tried again after
``watch.retry_seconds`` (schedule time, doubling), keeping its place in line, up to
``watch.capture_retries`` times; after that the URL waits for its source's next poll, which
lists it again (a poll remembers only what is archived).

A new capture's links to other articles are captured the same way, within the caps of
``links.*``, a class below what the sources list; one whose host cannot be reached is set
aside and tried again later in schedule time (watch/links.py).

A first sight that already shows a removal (a platform's notice, 404, 410, 451) is recorded
as an article *removed before capture*: the URL, what the listing said of it, and the notice
kept in WARC as evidence. Like any removal it is declared only when a second look, spaced
by ``watch.confirmation_seconds``, agrees; should the article be there after all, that look
captures it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from samizdat import logs
from samizdat.config import WatchSettings
from samizdat.fetch import Priority
from samizdat.platforms import UnavailableReason
from samizdat.sources.documents import DiscoveredURL
from samizdat.status import REMOVALS, Outcome
from samizdat.store import UnseenRemoval
from samizdat.watch.accounts import adopt_listings
from samizdat.watch.capture import CaptureOutcome, CaptureStatus
from samizdat.watch.links import LinkBudget, follows, link_title, next_try
from samizdat.watch.outcomes import TRANSIENT_STATUSES, outcome_of_notice

log = logging.getLogger(__name__)

_TRANSIENT_FAILURES = frozenset({"timeout", "connect", "dns", "truncated", "protocol", "empty", "error"})


@dataclass(frozen=True)
class Sighting:
    """A URL a source listed that is not archived yet, and what the listing said of it."""

    url: str
    source_id: int | None = None
    keywords: tuple[str, ...] = ()
    listed: DiscoveredURL | None = None
    listing_title: str | None = None  # the source's own title: an account feed names its account
    request_id: int | None = None  # submitted through the site: its capture request
    depth: int = 0  # 0: listed by a source or submitted; n: reached by n links (watch/links.py)
    account: str | None = None  # a linked article: the account of the page that linked it
    tries: int = 0  # a linked article set aside: its tries so far


def transient(outcome: CaptureOutcome) -> bool:
    """Whether trying again soon may well succeed."""
    if outcome.status is CaptureStatus.FAILED:
        return outcome.reason in _TRANSIENT_FAILURES
    if outcome.status is CaptureStatus.HTTP_ERROR:
        status = outcome.http_status or 0
        return status >= 500 or status in TRANSIENT_STATUSES
    return outcome.status is CaptureStatus.UNAVAILABLE and outcome.reason == str(UnavailableReason.TRANSIENT)


async def with_retries(
    capture: Callable[[], Awaitable[CaptureOutcome]], watch: WatchSettings
) -> CaptureOutcome:
    """``capture()``, tried again while it meets a transient failure: ``watch.capture_retries``
    times, ``watch.retry_seconds`` apart in schedule time, doubling."""
    for attempt in range(watch.capture_retries + 1):
        outcome = await capture()
        if not transient(outcome) or attempt == watch.capture_retries:
            return outcome
        await asyncio.sleep(watch.retry_seconds * 2**attempt / watch.time_scale)
    raise AssertionError("unreachable")


def removal_seen(outcome: CaptureOutcome) -> Outcome | None:
    """The removal a first sight shows, if it shows one."""
    if outcome.status is CaptureStatus.UNAVAILABLE and outcome.reason:
        found = outcome_of_notice(UnavailableReason(outcome.reason))
    elif outcome.status is CaptureStatus.HTTP_ERROR and outcome.http_status in (404, 410):
        found = Outcome.NOT_FOUND
    elif outcome.status is CaptureStatus.HTTP_ERROR and outcome.http_status == 451:
        found = Outcome.LEGAL_BLOCK
    else:
        return None
    return found if found in REMOVALS else None


class FirstSight:
    """The first-sight captures in flight in this process (``pipe`` is the process's pipeline)."""

    def __init__(self, pipe, on_done: Callable[[Sighting, CaptureOutcome], None] | None = None) -> None:
        self.pipe = pipe
        self.watch = pipe.settings.watch
        self.on_done = on_done
        self._running: dict[str, asyncio.Task[CaptureOutcome]] = {}
        self._following: set[asyncio.Task[None]] = set()  # links of stored pages being started
        self.links = LinkBudget(pipe.settings.links, self.watch.time_scale)
        self.linked = 0  # captures started by links, since the start
        self.set_aside = 0  # linked articles set aside (or given up) since the start

    def start(self, sightings: Sequence[Sighting]) -> int:
        """Start capturing each sighting not already being captured; how many were started."""
        started = 0
        for sighting in sightings:
            running = self._running.get(sighting.url)
            if running is not None:
                if sighting.request_id is not None:  # submitted while a source's capture of it runs
                    running.add_done_callback(lambda task, s=sighting: self._also_done(s, task))
                continue
            task = asyncio.create_task(self._capture(sighting))
            self._running[sighting.url] = task
            task.add_done_callback(lambda _, url=sighting.url: self._running.pop(url, None))
            started += 1
        return started

    def _also_done(self, sighting: Sighting, task: asyncio.Task[CaptureOutcome]) -> None:
        if self.on_done and not task.cancelled() and task.exception() is None:
            self.on_done(sighting, task.result())

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def wait(self) -> None:
        """Until every capture started so far has ended (with its retries)."""
        while self._running or self._following:
            await asyncio.wait([*self._running.values(), *self._following])

    async def stop(self, grace: float) -> None:
        """Let the captures in flight end for up to ``grace`` seconds, then cancel the rest:
        what they had stored stays stored, and what they had not is listed again by its
        source's next poll."""
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace)
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for task in list(self._following):
            task.cancel()

    async def _capture(self, sighting: Sighting) -> CaptureOutcome:
        place = self.pipe.fetcher.scheduler.ticket()
        linked = sighting.depth > 0
        priority = Priority.LINK if linked else Priority.CAPTURE

        def stored(outcome: CaptureOutcome) -> None:
            # What the page links to is started now, not once its images are in.
            task = asyncio.create_task(self.follow_links(sighting, outcome))
            self._following.add(task)
            task.add_done_callback(self._following.discard)

        async def attempt() -> CaptureOutcome:
            try:
                return await self.pipe.capturer.capture(
                    sighting.url, keywords=sighting.keywords, order=place, priority=priority, on_stored=stored
                )
            except Exception as exc:  # a bug or a broken disk must not stop the other captures
                log.exception("capturing %s failed", sighting.url)
                return CaptureOutcome(sighting.url, CaptureStatus.FAILED, reason="error", message=repr(exc))

        # A linked article is not tried again at once: it is set aside, and tried later.
        outcome = await (attempt() if linked else with_retries(attempt, self.watch))
        if linked:
            await self._settle_link(sighting, outcome)
        removal = removal_seen(outcome)
        if removal is not None:
            await self._record_removal(sighting, outcome, removal)
        captured = outcome.status is CaptureStatus.CAPTURED
        if captured and outcome.listings and outcome.platform and outcome.canonical_id:
            await adopt_listings(
                self.pipe.store,
                outcome.platform,
                outcome.canonical_id,
                outcome.account,
                outcome.listings,
                pool=self.pipe.pools.store,
            )
        if self.on_done:
            self.on_done(sighting, outcome)
        return outcome

    async def follow_links(self, sighting: Sighting, outcome: CaptureOutcome) -> None:
        """Start capturing the articles a new capture of ``sighting`` links to (watch/links.py)."""
        if outcome.status not in (CaptureStatus.CAPTURED, CaptureStatus.UNCHANGED) or not outcome.links:
            return
        if not follows(self.pipe.settings.links, outcome.platform, sighting.depth):
            return
        pairs = [(url, canonical) for url, canonical in outcome.links if url not in self._running]
        fresh = await self.pipe.pools.store.run(self.pipe.store.unknown_links, pairs)
        taken = [url for url in fresh if self.links.take(outcome.account)]
        self.linked += self.start(
            [Sighting(url, depth=sighting.depth + 1, account=outcome.account) for url in taken]
        )

    async def _settle_link(self, sighting: Sighting, outcome: CaptureOutcome) -> None:
        """A linked article that failed for now is set aside (or, out of tries, given up); one
        that was set aside and is settled at last leaves the list."""
        store = self.pipe.store
        if not transient(outcome):
            if sighting.tries:
                await self.pipe.pools.store.run(store.set_aside_done, sighting.url)
            return
        tries = sighting.tries + 1
        now = datetime.now(UTC)
        retry_at = next_try(self.pipe.settings.links, self.watch.time_scale, tries, now)
        note = f"{outcome.reason}: {outcome.message}" if outcome.message else str(outcome.reason)
        await self.pipe.pools.store.run(
            lambda: store.set_aside(
                sighting.url,
                depth=sighting.depth,
                account=sighting.account,
                attempts=tries,
                now=now,
                retry_at=retry_at,
                note=note,
            )
        )
        self.set_aside += 1
        if retry_at is None:
            logs.event(
                log,
                "link_given_up",
                f"linked article {sighting.url} given up after {tries} tries: {note}",
                level=logging.WARNING,
                url=sighting.url,
                tries=tries,
                note=note,
            )
        else:
            logs.event(
                log,
                "link_set_aside",
                f"linked article {sighting.url} set aside ({note}); tried again in "
                f"{(retry_at - now).total_seconds():.3g} s",
                url=sighting.url,
                tries=tries,
                note=note,
            )

    async def _record_removal(self, sighting: Sighting, outcome: CaptureOutcome, removal: Outcome) -> None:
        registry = self.pipe.registry
        platform = registry.for_url(sighting.url) or registry.platform("generic")
        listed = sighting.listed
        seen_at = outcome.fetched_at or datetime.now(UTC)
        confirm = timedelta(seconds=self.watch.confirmation_seconds) / self.watch.time_scale
        canonical_id = platform.canonical_id(sighting.url) or platform.canonical_url(sighting.url)
        title = listed.title if listed else None
        if title is None and sighting.depth:  # what the pages that link it call it
            try:
                pages = await self.pipe.pools.store.run(
                    self.pipe.store.linking_pages, canonical_id, sighting.url
                )
                title = await self.pipe.pools.cpu.run(
                    link_title,
                    pages,
                    sighting.url,
                    lambda url: (platform.canonical_id(url) or platform.canonical_url(url)) == canonical_id,
                )
            except Exception:  # a title is a courtesy: the removal is recorded without one
                log.exception("no title found for %s in the pages that link it", sighting.url)
        record = UnseenRemoval(
            platform=platform.name,
            canonical_id=canonical_id,
            url=sighting.url,
            seen_at=seen_at,
            outcome=str(removal),
            message=outcome.message,
            http_status=outcome.http_status,
            evidence=outcome.response,
            title=title,
            account=(listed.author if listed else None) or sighting.listing_title,
            published_at=listed.published_at if listed else None,
            summary=listed.summary if listed else None,
            next_check_at=seen_at + confirm,
            source_id=sighting.source_id,
            reached_by="link" if sighting.depth else "request" if sighting.request_id else "listing",
        )
        await self.pipe.pools.store.run(self.pipe.store.record_unseen_removal, record)
