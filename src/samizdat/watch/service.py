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
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from samizdat.app import Pipeline, pipeline
from samizdat.config import Settings
from samizdat.fetch.turns import HostTurns, shared_slots
from samizdat.watch.checker import CheckReport
from samizdat.watch.loop import watch
from samizdat.watch.notify import Event, Notifier
from samizdat.watch.outcomes import Outcome
from samizdat.watch.polling import SourceReport, due_sources, poll_sources
from samizdat.watch.workers import check_in_processes, shared_limits

SOURCE_TICK_SECONDS = 1.0
MIN_SOURCE_TICK_SECONDS = 0.05


@dataclass
class Status:
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    declared: int = 0
    edited: int = 0
    restored: int = 0
    polls: int = 0
    captured: int = 0
    due: int = 0
    recent: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=100_000))
    news: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=8))

    def checks_per_minute(self) -> int:
        cutoff = time.monotonic() - 60
        while self.recent and self.recent[0] < cutoff:
            self.recent.popleft()
        return len(self.recent)


class Watcher:
    def __init__(self, settings: Settings, *, workers: int = 1) -> None:
        # With check workers, this process polls and captures: it and each worker share the budget.
        self.settings = shared_limits(settings, workers + 1) if workers > 1 else settings
        self.check_settings = settings
        self.workers = workers
        # One per-host rate for this process and the check workers together (shared memory).
        self.slots = shared_slots(multiprocessing.get_context("spawn")) if workers > 1 else None
        self.status = Status()
        self.notifier = Notifier(settings.notify)

    async def run(self, stop: asyncio.Event) -> None:
        turns = HostTurns(self.settings.fetch.per_host_rate, self.slots) if self.slots is not None else None
        async with pipeline(self.settings, turns=turns) as pipe:
            delivery = asyncio.create_task(self.notifier.run())
            tasks = [
                asyncio.create_task(self._checks(pipe, stop)),
                asyncio.create_task(self._sources(pipe, stop)),
                asyncio.create_task(self._count_due(pipe, stop)),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await self.notifier.aclose()
                delivery.cancel()

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
        self.notifier.send(event)

    async def _checks(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        if self.workers <= 1:
            await watch(
                pipe.store,
                pipe.checker,
                self.settings.fetch.total_concurrency,
                stop,
                lambda report: self.on_report(report, pipe),
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
            due = due_sources(rows, datetime.now(UTC), self.settings.watch.time_scale)
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

    def _count_poll(self, report: SourceReport) -> None:
        self.status.polls += 1
        captured = sum(1 for c in report.captures if c.article_id is not None)
        self.status.captured += captured
        if report.error:
            self.status.news.append(f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.error}")
        elif captured:
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} source {report.source_id}: {captured} new articles captured"
            )

    async def _count_due(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.status.due = await asyncio.to_thread(pipe.store.count_due, datetime.now(UTC))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
