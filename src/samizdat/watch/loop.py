"""The watch loop: run every due check, within the fetcher's politeness limits, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from samizdat.store import Store
from samizdat.watch.checker import Checker, CheckReport

BATCH = 200


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


async def watch_pass(
    store: Store, checker: Checker, concurrency: int, on_report: Callable[[CheckReport], None] | None = None
) -> list[CheckReport]:
    """Run the checks due now (at most one batch); returns what they found."""
    due = await asyncio.to_thread(store.due_articles, datetime.now(UTC), BATCH)
    limit = asyncio.Semaphore(concurrency)

    async def one(article) -> CheckReport:
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
    idle_seconds: float = 0.5,
) -> None:
    while not stop.is_set():
        reports = await watch_pass(store, checker, concurrency, on_report)
        if not reports:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle_seconds)
