"""Everything ``samizdat watch`` does, in one place: re-checks, source polls, notifications, status.

The re-checks run in this process or, with ``workers`` > 1, in worker processes that split
the articles between them; sources are polled here on their own intervals and new entries
captured at once; confirmed removals, edits and returns become notification events. The
:class:`Status` is what the live display shows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from samizdat import logs
from samizdat.app import Pipeline, pipeline
from samizdat.config import Settings
from samizdat.fetch.turns import DatabaseTurns, HostTurns, shared_slots
from samizdat.store import open_engine
from samizdat.store.related import relate_pending
from samizdat.watch.checker import CheckReport
from samizdat.watch.loop import watch, worker_name
from samizdat.watch.notify import Event, Notifier
from samizdat.watch.outcomes import Outcome
from samizdat.watch.polling import SourceReport, due_sources, poll_sources
from samizdat.watch.workers import check_in_processes, shared_limits

SOURCE_TICK_SECONDS = 1.0
# A source's poll belongs to the worker that claimed it this long; a failed poll is retried
# when the claim runs out.
SOURCE_LEASE = timedelta(minutes=1)
MIN_SOURCE_LEASE = timedelta(seconds=2)
MIN_SOURCE_TICK_SECONDS = 0.05
RELATE_BATCH = 50
RELATE_IDLE_SECONDS = 2.0
# Related posts can wait; checks and captures cannot: the relating task rests three times as
# long as it worked, so it takes at most a quarter of a core from them.
RELATE_SHARE = 0.25

log = logging.getLogger(__name__)


@dataclass
class Status:
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    declared: int = 0
    edited: int = 0
    restored: int = 0
    polls: int = 0
    captured: int = 0
    left_listings: int = 0  # archived articles that left a listing, so were checked at once
    related: int = 0  # articles whose related posts were computed
    due: int = 0
    recent: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=100_000))
    news: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=8))

    def checks_per_minute(self) -> int:
        cutoff = time.monotonic() - 60
        while self.recent and self.recent[0] < cutoff:
            self.recent.popleft()
        return len(self.recent)


class Watcher:
    """``workers`` > 1: check processes on this machine; ``turns_in_database``: the per-host rate
    is shared through the database with workers on other machines (``samizdat worker``)."""

    def __init__(self, settings: Settings, *, workers: int = 1, turns_in_database: bool = False) -> None:
        # With check workers, this process polls and captures: it and each worker share the budget.
        self.settings = shared_limits(settings, workers + 1) if workers > 1 else settings
        self.check_settings = settings
        self.workers = workers
        # One per-host rate for this process and the check workers together (shared memory).
        self.slots = shared_slots(multiprocessing.get_context("spawn")) if workers > 1 else None
        self.status = Status()
        self.notifier = Notifier(settings.notify)
        self.turns_in_database = turns_in_database
        self.name = worker_name()
        self.started_at = datetime.now(UTC)

    async def run(self, stop: asyncio.Event) -> None:
        turns_engine = None
        turns: HostTurns | DatabaseTurns | None = None
        if self.slots is not None:
            turns = HostTurns(self.settings.fetch.per_host_rate, self.slots)
        elif self.turns_in_database and self.settings.fetch.per_host_rate > 0:
            turns_engine = open_engine(self.settings.database_url)
            turns = DatabaseTurns(self.settings.fetch.per_host_rate, turns_engine)
        async with pipeline(self.settings, turns=turns) as pipe:
            delivery = asyncio.create_task(self.notifier.run())
            tasks = [
                asyncio.create_task(self._checks(pipe, stop)),
                asyncio.create_task(self._sources(pipe, stop)),
                asyncio.create_task(self._count_due(pipe, stop)),
                asyncio.create_task(self._relate(pipe, stop)),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await self.notifier.aclose()
                delivery.cancel()
                await asyncio.to_thread(pipe.store.worker_stopped, self.name)
                if turns_engine is not None:
                    turns_engine.dispose()

    def on_report(self, report: CheckReport, pipe: Pipeline) -> None:
        status = self.status
        status.outcomes[str(report.outcome)] += 1
        status.recent.append(time.monotonic())
        kind = None
        if report.declared:
            status.declared += 1
            kind = "removed"
        elif report.restored:
            status.restored += 1
            kind = "restored"
        elif report.outcome is Outcome.EDITED:
            status.edited += 1
            kind = "edited"
        if kind is not None:
            asyncio.get_running_loop().create_task(self._announce(kind, report, pipe))

    async def _announce(self, kind: str, report: CheckReport, pipe: Pipeline) -> None:
        article = await asyncio.to_thread(pipe.store.article, report.article_id) or {}
        event = Event(
            kind=kind,
            article_id=report.article_id,
            outcome=str(report.outcome),
            message=report.message,
            url=article.get("url"),
            title=article.get("title"),
            account=article.get("account"),
            at=datetime.now(UTC).isoformat(),
        )
        self.status.news.append(f"{time.strftime('%H:%M:%S')} {event.summary()}")
        logs.event(
            log,
            f"article_{kind}",
            event.summary(),
            article_id=event.article_id,
            outcome=event.outcome,
            url=event.url,
            worker=self.name,
        )
        self.notifier.send(event)

    async def _checks(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        if self.workers <= 1:
            await watch(
                pipe.store,
                pipe.checker,
                self.settings.fetch.total_concurrency,
                stop,
                lambda report: self.on_report(report, pipe),
                lease=timedelta(seconds=self.settings.watch.claim_lease_seconds),
            )
            return
        loop = asyncio.get_running_loop()
        stopping = threading.Event()
        waiter = asyncio.create_task(stop.wait())
        waiter.add_done_callback(lambda _: stopping.set())
        await asyncio.to_thread(
            check_in_processes,
            self.check_settings,
            self.workers,
            lambda report: loop.call_soon_threadsafe(self.on_report, report, pipe),
            should_stop=stopping.is_set,
            budget_parts=self.workers + 1,
            slots=self.slots,
        )

    async def _sources(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        while not stop.is_set():
            rows = await asyncio.to_thread(pipe.store.list_sources)
            now = datetime.now(UTC)
            due = [
                row
                for row in due_sources(rows, now, self.settings.watch.time_scale)
                # Other workers may poll too: each due source is polled by the one that claims it.
                if await asyncio.to_thread(
                    pipe.store.claim_source, row["id"], now=now, worker=self.name, lease=self._source_lease()
                )
            ]
            if due:
                for report in await poll_sources(pipe, due):
                    self._count_poll(report)
            # Look again within a second, or sooner when a source's (scaled) interval is shorter.
            intervals = [
                (row["poll_interval_seconds"] or 900) / self.settings.watch.time_scale for row in rows
            ]
            tick = max(MIN_SOURCE_TICK_SECONDS, min([SOURCE_TICK_SECONDS, *intervals]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)

    def _source_lease(self) -> timedelta:
        return max(SOURCE_LEASE / self.settings.watch.time_scale, MIN_SOURCE_LEASE)

    def _count_poll(self, report: SourceReport) -> None:
        self.status.polls += 1
        logs.event(
            log,
            "source_polled",
            f"source {report.source_id}: " + (report.error or f"{report.listed} listed, {report.new} new"),
            level=logging.WARNING if report.error else logging.DEBUG,
            source_id=report.source_id,
            listed=report.listed,
            new=report.new,
            left_listing=report.dropped,
            not_modified=report.not_modified,
            error=report.error,
            worker=self.name,
        )
        captured = sum(1 for c in report.captures if c.article_id is not None)
        self.status.captured += captured
        if report.error:
            self.status.news.append(f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.error}")
        elif captured:
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} source {report.source_id}: {captured} new articles captured"
            )
        self.status.left_listings += report.dropped
        if report.dropped:
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.dropped} articles left "
                "its listing, checking them now"
            )

    async def _relate(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Related posts for new and edited articles, a batch at a time, idle when none wait."""
        while not stop.is_set():
            started = time.monotonic()
            done = await asyncio.to_thread(relate_pending, pipe.store.engine, limit=RELATE_BATCH)
            self.status.related += done
            worked = time.monotonic() - started
            rest = RELATE_IDLE_SECONDS if done < RELATE_BATCH else worked * (1 - RELATE_SHARE) / RELATE_SHARE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rest)

    async def _count_due(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Every two seconds: the due count for the display, and a sign of life for ``samizdat status``."""
        while not stop.is_set():
            now = datetime.now(UTC)
            self.status.due = await asyncio.to_thread(pipe.store.count_due, now)
            await asyncio.to_thread(
                pipe.store.heartbeat,
                self.name,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=self.started_at,
                now=now,
                checks=sum(self.status.outcomes.values()),
                captures=self.status.captured,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
