"""Everything ``samizdat watch`` does, in one place: re-checks, source polls, notifications, status.

The re-checks run in this process or, with ``workers`` > 1, in worker processes that claim
due articles from the database; sources are polled here on their own intervals, each poll a
task of its own, and what they list for the first time is captured at once by
:class:`~samizdat.watch.firstsight.FirstSight` (polls never wait for captures, nor captures
for each other). All of it goes through each host's request queue, most urgent class first
(``fetch/scheduler.py``). Claims held by processes that are gone (killed, crashed) are freed
at start and at every sign of life, not after their lease. Confirmed removals, edits and
returns become notification events. The :class:`Status` is what the live display shows.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from samizdat import logs
from samizdat.app import Pipeline, pipeline
from samizdat.config import Settings
from samizdat.evidence.keys import archive_key
from samizdat.evidence.witness import witness_once
from samizdat.fetch.turns import HostTurns, Priority, Turns, shared_slots
from samizdat.pools import Pool
from samizdat.relate.pictures import images_readable
from samizdat.status import Outcome
from samizdat.store import CaptureRequest, open_engine
from samizdat.store.turns import DatabaseTurns
from samizdat.watch.capture import CaptureOutcome
from samizdat.watch.checker import SIGNALLED, CheckReport
from samizdat.watch.firstsight import FirstSight, Sighting, removal_seen
from samizdat.watch.loop import STOP_GRACE_SECONDS, first_of, watch, worker_name
from samizdat.watch.notify import Notifier
from samizdat.watch.pictures import reading_process
from samizdat.watch.polling import (
    SourceReport,
    SparePolls,
    failed_poll_retry,
    floor_of,
    next_look,
    poll_class,
    poll_source,
)
from samizdat.watch.relating import relating_process
from samizdat.watch.sealing import log_origin, seal, stamp_head
from samizdat.workers import check_in_processes, shared_limits

SOURCE_TICK_SECONDS = 1.0  # the sources are read again at least this often (added, removed, polled)
POLLED_KEPT_SECONDS = 10.0  # a poll this process made counts until the database shows it, or this long
MIN_SOURCE_TICK_SECONDS = 0.005
HEARTBEAT_SECONDS = 2.0
# A worker not heard from for this long is taken for dead: its claims are freed. Real seconds,
# like the heartbeats it counts (a few seconds of schedule time at 8,640× would be a millisecond).
SILENT_WORKER = timedelta(seconds=5 * HEARTBEAT_SECONDS)
REQUESTS_PER_TAKE = 200  # submitted URLs taken at a time (the API takes up to 200 per call)
RESTART_SECONDS = 1.0  # a loop of the watcher that failed starts again after this rest

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
    images_read: int = 0  # archived images read for their hashes (and text) by the background reader
    removed_before_capture: int = 0  # first sights that were already a removal notice
    first_sight_failed: int = 0  # captures that failed after their retries (the next poll tries again)
    linked: int = 0  # captures started by links inside captured articles
    links_set_aside: int = 0  # linked articles whose host was out of reach: tried again later
    claims_freed: int = 0  # claims of dead processes taken over
    errors: int = 0  # loops of the watcher that failed and were started again
    requested: int = 0  # URLs submitted through the admin API, captured (or tried)
    notified: int = 0  # notifications delivered to every target
    notify_failed: int = 0  # notifications given up after their attempts
    log_size: int = 0  # entries of the tamper-evident log under the latest signed tree head
    due: int = 0
    # Requests waiting in this process by class, and how long the oldest has waited (seconds).
    queues: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Requests sent to each host by class since the start: what polls, captures and checks took.
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    # Each way out (fetch.egress): requests sent, refusals met, hosts it rests for, seconds down.
    egresses: dict[str, dict[str, float]] = field(default_factory=dict)
    # Due in the database by class (every process's), and how late the most overdue is (seconds).
    due_by_class: dict[str, tuple[int, float]] = field(default_factory=dict)
    recent: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=100_000))
    news: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=8))

    def checks_per_minute(self) -> int:
        cutoff = time.monotonic() - 60
        while self.recent and self.recent[0] < cutoff:
            self.recent.popleft()
        return len(self.recent)


class WatcherFailed(RuntimeError):
    """The watcher stopped because it could not go on (its archive writer failed)."""


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
        self.turns_in_database = turns_in_database
        self.name = worker_name()
        self.started_at = datetime.now(UTC)
        # Sources polled lately, as this process knows them (with when): the database's rows
        # may not show the poll yet, its record waiting for the store's threads.
        self._polled: dict[int, tuple[dict, float]] = {}
        self.relating = relating_process(settings)
        self.reading = reading_process(settings) if settings.images.read and images_readable() else None
        self.helpers = [self.relating, *([self.reading] if self.reading else [])]
        self.notifier: Notifier | None = None
        self._background: set[asyncio.Task] = set()
        self._checked: collections.defaultdict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )

    async def run(self, stop: asyncio.Event) -> None:
        turns_engine = None
        turns: Turns | None = None
        if self.slots is not None:
            turns = HostTurns(self.settings.fetch.per_host_rate, self.slots)
        elif self.turns_in_database and self.settings.fetch.per_host_rate > 0:
            turns_engine = open_engine(self.settings.database_url)
            turns = DatabaseTurns(self.settings.fetch.per_host_rate, turns_engine)
        async with pipeline(self.settings, turns=turns) as pipe:
            await self._free_dead_claims(pipe)
            self.first_sight = FirstSight(pipe, self._captured)
            self.notifier = Notifier(
                self.settings.notify,
                pipe.store,
                worker=self.name,
                pools=pipe.pools,
                resolver=pipe.fetcher.resolver,
            )
            for helper in self.helpers:
                helper.start()
            loops = {
                "checks": self._checks,
                "sources": self._sources,
                "requests": self._requests,
                "notifications": lambda _, stop: self.notifier.run(stop),
                "log": self._seal,
                "witness": self._witness,
                "heartbeat": self._count_due,
            }
            tasks = [
                asyncio.create_task(self._keep_running(name, run, pipe, stop)) for name, run in loops.items()
            ]
            try:
                await self._until_stopped(tasks, stop)
            finally:
                await self._stop(pipe, tasks)
                if turns_engine is not None:
                    turns_engine.dispose()
            if pipe.committer.failure is not None:
                raise WatcherFailed(f"the archive writer stopped: {pipe.committer.failure!r}")

    async def _until_stopped(self, tasks: list[asyncio.Task], stop: asyncio.Event) -> None:
        """Until the loops end; once ``stop`` is set, they get ``STOP_GRACE_SECONDS`` to end the
        work in hand (first sights too, meanwhile), whatever waits on a lookup or a slow host."""
        loops = asyncio.gather(*tasks)
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([loops, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not loops.done():
                ending = asyncio.create_task(self.first_sight.stop(STOP_GRACE_SECONDS))
                await asyncio.wait([loops], timeout=STOP_GRACE_SECONDS)
                await ending
            if loops.done():
                loops.result()
        finally:
            stopping.cancel()
            # Loops still running are cancelled by _stop: what they end with is theirs to log
            # (_keep_running), not an "exception was never retrieved" when the gather is freed.
            loops.add_done_callback(lambda ended: ended.cancelled() or ended.exception())

    async def _stop(self, pipe: Pipeline, tasks: list[asyncio.Task]) -> None:
        """Cancel what is still running, stop the helpers and free this watcher's claims (the
        pipeline seals the log's last entries as it closes). What was stored stays stored; what
        was cut short is due again."""
        running = [*tasks, *self._background]
        for task in running:
            task.cancel()
        await asyncio.wait(running)
        await asyncio.gather(
            self.first_sight.stop(0),
            *(pipe.pools.outside.run(helper.stop) for helper in self.helpers),
        )
        await pipe.pools.store.run(pipe.store.worker_stopped, self.name)

    async def _keep_running(
        self,
        name: str,
        run: Callable[[Pipeline, asyncio.Event], Awaitable[None]],
        pipe: Pipeline,
        stop: asyncio.Event,
    ) -> None:
        """Run one of the watcher's loops until ``stop``: an error is logged and the loop started
        again after a rest, never the end of the others. Only a writer that cannot store
        anything more stops the watcher (``stop`` is set, the error raised by :meth:`run`)."""
        while not stop.is_set():
            try:
                await run(pipe, stop)
                return
            except Exception as exc:
                if pipe.committer.failure is not None:
                    stop.set()
                    return
                self.status.errors += 1
                logs.event(
                    log,
                    "loop_failed",
                    f"the watcher's {name} loop failed ({exc!r}); starting it again in {RESTART_SECONDS:g} s",
                    level=logging.ERROR,
                    loop=name,
                    error=repr(exc),
                    worker=self.name,
                )
                log.debug("the %s loop failed", name, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_SECONDS)

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """A task nobody awaits, kept until it ends (the loop holds tasks only weakly); its error
        is logged, not lost."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task of the watcher failed", exc_info=task.exception())

    async def _free_dead_claims(self, pipe: Pipeline) -> None:
        freed = await pipe.pools.store.run(
            pipe.store.release_dead_claims,
            datetime.now(UTC),
            host=socket.gethostname(),
            silent_after=SILENT_WORKER,
        )
        if freed:
            self.status.claims_freed += freed
            logs.event(
                log,
                "claims_freed",
                f"took over {freed} claims of workers that are gone",
                freed=freed,
                worker=self.name,
            )

    def _captured(self, sighting: Sighting, outcome: CaptureOutcome) -> None:
        if sighting.request_id is not None:
            self._in_background(self._finish_request(self.first_sight.pipe, sighting, outcome))
        if outcome.article_id is not None:
            self.status.captured += 1
        elif removal_seen(outcome) is not None:
            self.status.removed_before_capture += 1
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} removed before capture ({outcome.reason}): {sighting.url}"
            )
        elif sighting.depth == 0:
            self.status.first_sight_failed += 1

    def on_report(self, report: CheckReport, pipe: Pipeline) -> None:
        status = self.status
        if self.workers > 1:  # a check process's request, which this process's queues never saw
            self._checked[report.host][report.request_class] += 1
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
            self.notifier.wake()  # the check wrote its notification into the outbox
            self._in_background(self._announce(kind, report, pipe))

    async def _announce(self, kind: str, report: CheckReport, pipe: Pipeline) -> None:
        article = await pipe.pools.store.run(pipe.store.article, report.article_id)
        named = (article.title or article.url) if article else f"article {report.article_id}"
        detail = f"{report.outcome}: {report.message}" if report.message else str(report.outcome)
        summary = f"{kind}: {named} ({detail})"
        self.status.news.append(f"{time.strftime('%H:%M:%S')} {summary}")
        logs.event(
            log,
            f"article_{kind}",
            summary,
            article_id=report.article_id,
            outcome=str(report.outcome),
            url=article.url if article else None,
            worker=self.name,
        )

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
        # A thread of its own for as long as the check processes run: it holds no pool's thread.
        await Pool("check-processes", 1).run(
            check_in_processes,
            self.check_settings,
            self.workers,
            lambda report: loop.call_soon_threadsafe(self.on_report, report, pipe),
            should_stop=stopping.is_set,
            budget_parts=self.workers + 1,
            slots=self.slots,
        )

    async def _sources(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Start the polls that may go now (``polling.poll_class``), each as a task of its own:
        those worth a check's turn ahead of checks, those at their ceiling among them; those past
        their floor, nearest to being due first, with what checks leave — and asked again in
        their class, should one still wait at the bottom of its host's queue when it falls due."""
        watch = self.settings.watch
        spare = SparePolls()
        polling: dict[int, tuple[asyncio.Task[None], Priority]] = {}
        ended = asyncio.Event()  # a poll ended: a place for another
        rows: list[dict] = []
        read_at = -SOURCE_TICK_SECONDS

        def start(row: dict, priority: Priority) -> None:
            task = asyncio.create_task(self._poll(pipe, row, priority, spare))
            polling[row["id"]] = (task, priority)

            def done(_: asyncio.Task, key: int = row["id"]) -> None:
                polling.pop(key, None)
                ended.set()

            task.add_done_callback(done)

        while not stop.is_set():
            if time.monotonic() - read_at >= SOURCE_TICK_SECONDS:
                rows = await pipe.pools.store.run(pipe.store.list_sources)
                read_at = time.monotonic()
                stored = {row["id"]: row["next_poll_at"] for row in rows}
                self._polled = {
                    source_id: (known, at)
                    for source_id, (known, at) in self._polled.items()
                    if read_at - at < POLLED_KEPT_SECONDS
                    and source_id in stored
                    and stored[source_id] != known["next_poll_at"]
                }
            now = datetime.now(UTC)
            soonest = now + timedelta(seconds=SOURCE_TICK_SECONDS)
            past_floor = []
            for row in (self._polled.get(r["id"], (r, 0.0))[0] for r in rows):
                priority = poll_class(row, now, watch)
                running = polling.get(row["id"])
                if running is not None:
                    task, running_as = running
                    promoted = running_as is Priority.SPARE and priority in (Priority.POLL, Priority.ROUTINE)
                    if promoted and not task.cancelling():
                        task.cancel()  # started again in its due class once it has left the queue
                elif priority in (Priority.POLL, Priority.ROUTINE):
                    start(row, priority)
                elif priority is Priority.SPARE:
                    past_floor.append(row)
                else:
                    soonest = min(soonest, next_look(row, watch) or now)
            for row in sorted(past_floor, key=lambda row: row["next_poll_at"]):
                if not spare.take(row["url"]):
                    continue  # its host has its few spare polls waiting: one ending wakes this loop
                start(row, Priority.SPARE)
            ended.clear()
            wait = max(MIN_SOURCE_TICK_SECONDS, (soonest - datetime.now(UTC)).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_of(stop.wait(), ended.wait()), wait)
        running = [task for task, _ in polling.values()]
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
            for task in running:
                task.cancel()

    async def _poll(self, pipe: Pipeline, row: dict, priority: Priority, spare: SparePolls) -> None:
        """Claim the source (other workers may poll it too: the one that claims it does), poll it.
        The claim is a database write: it waits here, never in the loop that starts the polls."""
        claim = functools.partial(
            pipe.store.claim_source, now=datetime.now(UTC), worker=self.name, lease=self._source_lease()
        )
        try:
            if not await self._claim_source(pipe, claim, row):
                # Another worker polls it: it records its poll; look again at the floor.
                floor = timedelta(seconds=floor_of(row, self.settings.watch) / self.settings.watch.time_scale)
                self._polled[row["id"]] = (
                    row | {"next_poll_at": datetime.now(UTC) + floor},
                    time.monotonic(),
                )
                return
            try:
                report = await poll_source(pipe, row, self.first_sight, priority)
            except asyncio.CancelledError:
                # Stopped, or a spare poll to be asked again ahead of checks: due as it was.
                await asyncio.shield(asyncio.wrap_future(self._give_back(pipe, row)))
                raise
            except Exception as exc:  # a bug must not stop the other polls, nor the watcher
                log.exception("polling source %s failed", row["id"])
                retry_at = failed_poll_retry(row, self.settings.watch)
                await pipe.pools.store.run(lambda: pipe.store.release_source(row["id"], retry_at=retry_at))
                report = SourceReport(row["id"], row["url"], 0, 0, error=repr(exc), next_poll_at=retry_at)
        finally:
            if priority is Priority.SPARE:
                spare.done(row["url"])
        # Until the sources are read again, this one counts as polled as it was.
        self._polled[row["id"]] = (
            row | {"next_poll_at": report.next_poll_at} | report.recorded,
            time.monotonic(),
        )
        self._count_poll(report)

    async def _seal(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Every few seconds, and once more at the end: the log's waiting entries sequenced and
        a new tree head signed (``watch/sealing.py``)."""
        key = await pipe.pools.store.run(archive_key, self.settings.data_dir)
        origin = await pipe.pools.store.run(log_origin, pipe.store, self.settings, key)
        while True:
            head = await pipe.pools.store.run(seal, pipe.store, key, origin)
            if head is not None:
                self.status.log_size = head.size
                for failure in await stamp_head(pipe.store, head, self.settings.timestamps, pipe.pools):
                    logs.event(
                        log,
                        "timestamp_failed",
                        f"tree head of {head.size} entries not stamped: {failure}",
                        level=logging.WARNING,
                        worker=self.name,
                    )
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.watch.seal_seconds)

    async def _witness(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Every ``witnesses.every_seconds``: the logs this archive witnesses checked and
        cosigned, as ``samizdat witness run`` does (``evidence/witness.py``)."""
        settings = self.settings.witnesses
        if not settings.every_seconds:
            return
        while not stop.is_set():
            logs = await pipe.pools.store.run(pipe.store.watched_logs)
            if logs:
                await pipe.pools.outside.run(witness_once, pipe.store, self.settings, logs)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.every_seconds)

    async def _requests(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Take the URLs submitted through the site (it only queues them) and capture each at
        first sight, as if a source had listed it; how each went is written back for the API.
        Linked articles set aside (their host was out of reach) are tried again when due."""
        while not stop.is_set():
            now = datetime.now(UTC)
            lease = self._request_lease()
            taken = await pipe.pools.store.run(
                pipe.store.take_capture_requests, now, REQUESTS_PER_TAKE, worker=self.name, lease=lease
            )
            self.first_sight.start([Sighting(request.url, request_id=request.id) for request in taken])
            again = await pipe.pools.store.run(
                pipe.store.take_set_aside, now, REQUESTS_PER_TAKE, worker=self.name, lease=lease
            )
            self.first_sight.start(
                [
                    Sighting(link.url, depth=link.depth, account=link.account, tries=link.attempts)
                    for link in again
                ]
            )
            if len(taken) < REQUESTS_PER_TAKE:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SOURCE_TICK_SECONDS)

    def _request_lease(self) -> timedelta:
        """A capture with all its retries; a dead worker's requests are freed sooner."""
        watch = self.settings.watch
        retries = sum(watch.retry_seconds * 2**attempt for attempt in range(watch.capture_retries))
        tries = watch.capture_retries + 1
        return timedelta(seconds=2 * tries * self.settings.fetch.timeout + retries / watch.time_scale)

    async def _finish_request(self, pipe: Pipeline, sighting: Sighting, outcome: CaptureOutcome) -> None:
        done = CaptureRequest(
            sighting.request_id,  # type: ignore[arg-type]
            sighting.url,
            datetime.now(UTC),
            "done",
            finished_at=datetime.now(UTC),
            status=str(outcome.status),
            article_id=outcome.article_id,
            reason=str(outcome.reason) if outcome.reason else None,
            message=outcome.message,
            http_status=outcome.http_status,
        )
        await pipe.pools.store.run(pipe.store.finish_capture_request, done)
        self.status.requested += 1

    async def _claim_source(self, pipe: Pipeline, claim: Callable[[int], bool], row: dict) -> bool:
        """Claim a source for this poll. A poll cancelled meanwhile (stopped, or a spare poll
        asked again in its due class) gives back the claim once the store has taken it:
        otherwise the source waits out the whole lease, days in schedule time, unpolled."""
        claiming = pipe.pools.store.submit(claim, row["id"])
        try:
            return await asyncio.shield(asyncio.wrap_future(claiming))
        except asyncio.CancelledError:

            def give_back_if_taken(done: concurrent.futures.Future[bool]) -> None:
                if not done.cancelled() and done.exception() is None and done.result():
                    self._give_back(pipe, row)

            claiming.add_done_callback(give_back_if_taken)
            raise

    @staticmethod
    def _give_back(pipe: Pipeline, row: dict) -> concurrent.futures.Future[None]:
        """Release a source's claim, due as it was: a job of the store's pool that runs whatever
        happens to the poll that asks for it (a cancelled wait would drop a job not started)."""
        due = row["next_poll_at"] or datetime.now(UTC)
        return pipe.pools.store.submit(pipe.store.release_source, row["id"], retry_at=due)

    def _source_lease(self) -> timedelta:
        """Long enough for a poll that meets a slow host, and for an album's page asked again
        (sources/listings.py); a dead worker's claims are freed sooner."""
        watch = self.settings.watch
        retries = sum(watch.retry_seconds * 2**attempt for attempt in range(watch.capture_retries))
        return timedelta(seconds=2 * self.settings.fetch.timeout + retries / watch.time_scale)

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
        if report.error:
            self.status.news.append(f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.error}")
        elif report.new:
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.new} new, capturing them"
            )
        self.status.left_listings += report.dropped
        if report.dropped:
            self.status.news.append(
                f"{time.strftime('%H:%M:%S')} source {report.source_id}: {report.dropped} articles left "
                "its listing, checking them now"
            )

    async def _count_due(self, pipe: Pipeline, stop: asyncio.Event) -> None:
        """Every two seconds: the queues for the display, a sign of life for ``samizdat status``,
        and the claims of workers that are gone taken over."""
        while not stop.is_set():
            if pipe.committer.failure is not None:
                logs.event(
                    log,
                    "writer_failed",
                    f"the archive writer stopped ({pipe.committer.failure!r}): stopping the watcher",
                    level=logging.ERROR,
                    worker=self.name,
                )
                stop.set()
                return
            now = datetime.now(UTC)
            due = await pipe.pools.store.run(pipe.store.due_by_class, now, signalled=SIGNALLED)
            self.status.due_by_class = due
            self.status.due = sum(count for count, _ in due.values())
            self.status.related = self.relating.done
            self.status.images_read = self.reading.done if self.reading else 0
            self.status.queues = {
                priority.name.lower(): (figures.waiting, round(figures.oldest_seconds, 3))
                for priority, figures in pipe.fetcher.scheduler.queues().items()
            }
            self.status.queues["capture_tasks"] = (self.first_sight.in_flight, 0.0)
            sent = pipe.fetcher.scheduler.sent
            self.status.requests = {
                host: dict(
                    sent.get(host, collections.Counter()) + self._checked.get(host, collections.Counter())
                )
                for host in sent.keys() | self._checked.keys()
            }
            self.status.egresses = {
                figures.name: {
                    "requests": figures.requests,
                    "refusals": figures.refusals,
                    "resting_hosts": figures.resting_hosts,
                    "down_seconds": figures.down_seconds,
                }
                for figures in pipe.fetcher.egresses()
            }
            self.status.linked = self.first_sight.linked
            self.status.links_set_aside = self.first_sight.set_aside
            if self.notifier is not None:
                self.status.notified, self.status.notify_failed = (
                    self.notifier.delivered,
                    self.notifier.failed,
                )
            await pipe.pools.store.run(
                pipe.store.heartbeat,
                self.name,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=self.started_at,
                now=now,
                checks=sum(self.status.outcomes.values()),
                captures=self.status.captured,
                queues=self.status.queues,
                requests=self.status.requests,
                egresses=self.status.egresses,
            )
            await self._free_dead_claims(pipe)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
