"""The watch loop: run every due check, within the fetcher's politeness limits, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from samizdat.store import DueArticle, Store
from samizdat.watch.checker import Checker, CheckReport

BATCH = 200
# When told to stop, the checks in flight get this long to end; the rest are cancelled (their
# claims are freed when the watcher stops, and they are due again at the next start).
STOP_GRACE_SECONDS = 2.0
# With a full queue of claimed checks waiting for their host's turns, confirmations and
# signalled checks that fall due are still claimed at once (at most this often): they go
# ahead of the routine checks in the host's queue, not behind the ones claimed before them.
URGENT_CLAIM_SECONDS = 0.1
MIN_IDLE_SECONDS = 0.005
# A claimed article waits at most one queue's worth of checks: minutes to spare before another
# worker may take it (its worker died). ``watch.claim_lease_seconds`` sets it.
CLAIM_LEASE = timedelta(minutes=5)
log = logging.getLogger(__name__)


class AlreadyWatching(RuntimeError):
    pass


class WatchLock:
    """One watcher per data directory. flock() dies with its process: a crash never blocks a restart."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "watch.lock"
        self._fd: int | None = None

    def __enter__(self) -> WatchLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyWatching(
                f"another samizdat watch is running on {self.path.parent} (lock {self.path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


async def first_of(*waits: Awaitable[Any]) -> None:
    """Until the first of ``waits`` ends (the others cancelled)."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def worker_name() -> str:
    """Who holds a claim: this machine and process, and a tag that a restart does not reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def watch_pass(
    store: Store,
    checker: Checker,
    concurrency: int,
    on_report: Callable[[CheckReport], None] | None = None,
    *,
    worker: str | None = None,
) -> list[CheckReport]:
    """Run the checks due now (at most one batch); returns what they found."""
    due = await checker.pools.store.run(
        store.claim_due, datetime.now(UTC), BATCH, worker=worker or worker_name(), lease=CLAIM_LEASE
    )
    limit = asyncio.Semaphore(concurrency)

    async def one(article: DueArticle) -> CheckReport:
        async with limit:
            report = await checker.check(article)
        if on_report:
            on_report(report)
        return report

    return list(await asyncio.gather(*(one(article) for article in due)))


async def watch(
    store: Store,
    checker: Checker,
    concurrency: int,
    stop: asyncio.Event,
    on_report: Callable[[CheckReport], None] | None = None,
    *,
    idle_seconds: float = 0.1,
    until_idle: bool = False,
    lease: timedelta = CLAIM_LEASE,
) -> None:
    """Check due articles until ``stop`` is set (or, with ``until_idle``, until none is due).

    Up to twice ``concurrency`` checks are claimed and wait in their hosts' queues, where each
    goes by its class (``request_class``); the queue is topped up from the database whenever
    it runs low, so a slow host never holds up a whole batch, and urgent checks (confirmations,
    signalled ones) are claimed as they fall due even when it is full. The articles are
    claimed (``Store.claim_due``), so any number of these loops can share a database.
    """
    worker = worker_name()
    in_flight: dict[int, asyncio.Task[CheckReport]] = {}
    urgent_claimed_at = 0.0
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            full = len(in_flight) > concurrency
            urgent_room = len(in_flight) < 4 * concurrency
            if not full or (urgent_room and time.monotonic() - urgent_claimed_at >= URGENT_CLAIM_SECONDS):
                urgent_claimed_at = time.monotonic()
                due = await checker.pools.store.run(
                    store.claim_due,
                    datetime.now(UTC),
                    concurrency if full else 2 * concurrency - len(in_flight),
                    worker=worker,
                    lease=lease,
                    routine=not full,
                )
                for article in due:
                    in_flight[article.id] = asyncio.create_task(checker.check(article))
            if not in_flight:
                if until_idle:
                    return
                # Until the next check falls due, and no longer than ``idle_seconds``: a check
                # signalled by a poll (or another worker) is made due at once.
                now = datetime.now(UTC)
                next_due = await checker.pools.store.run(store.next_due, now)
                until = idle_seconds if next_due is None else (next_due - now).total_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(idle_seconds, max(MIN_IDLE_SECONDS, until)))
                continue
            done, _ = await asyncio.wait(
                [*in_flight.values(), stopping],
                timeout=URGENT_CLAIM_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            failed = False
            for article_id, task in [(i, t) for i, t in in_flight.items() if t in done]:
                del in_flight[article_id]
                failed |= not _report(task, article_id, on_report)
            if failed:
                # A check that raised (a full disk, a lost database) stays due: retry after a pause.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_seconds)
        if in_flight:
            await asyncio.wait(in_flight.values(), timeout=STOP_GRACE_SECONDS)
            for article_id, task in in_flight.items():
                if task.done():
                    _report(task, article_id, on_report)
    finally:
        stopping.cancel()
        for task in in_flight.values():
            task.cancel()
        if in_flight:
            await asyncio.wait(in_flight.values())
            await checker.pools.store.run(store.worker_stopped, worker)


def _report(
    task: asyncio.Task[CheckReport], article_id: int, on_report: Callable[[CheckReport], None] | None
) -> bool:
    try:
        report = task.result()
    except Exception:
        log.exception("the check of article %d failed; it stays due", article_id)
        return False
    if on_report:
        on_report(report)
    return True
